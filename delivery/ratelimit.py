"""Each provider's messages-per-second limit, held by pacing the sends (in-process)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class RateLimiter:
    """Pacing per channel: n messages take n / rate seconds of the channel's time."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = dict(rates)
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, channel: str, count: int) -> None:
        """Wait until `count` messages may go out on `channel`."""
        rate = self.rates.get(channel)
        if not rate or count <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next.get(channel, now))
            self._next[channel] = start + count / rate
        if start > now:
            await asyncio.sleep(start - now)
