"""Each provider's messages-per-second limit, held by pacing the sends.

Embedded mode paces in-process (`RateLimiter`). Distributed mode shares one token bucket
per channel in Redis (`RedisRateLimiter`): every worker draws from it, so the limit holds
across all of them. A draw may go into debt; the caller then waits until the debt is
repaid, which keeps the order in which workers asked.

Urgent draws (officers and loudspeakers, delivery/lanes.py) never queue behind a resident
fan-out's draws: they go ahead and the residents wait for them. A loudspeaker batch is one
EBD package whatever its terminals, so it draws one (`one_request_per_batch`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from redis.asyncio import Redis


class Limiter(Protocol):
    async def acquire(self, channel: str, count: int, urgent: bool = False) -> None:
        """Wait until `count` messages may go out on `channel`. An urgent draw (officers,
        loudspeakers) never queues behind the residents' draws (lanes.py)."""


class RateLimiter:
    """Pacing per channel: n messages take n / rate seconds of the channel's time.

    An urgent draw waits only behind earlier urgent draws; every resident draw still
    waiting moves back by its time, so the channel as a whole keeps its rate (only the
    chunks already going out overlap it)."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = dict(rates)
        self._next: dict[str, float] = {}  # when the next resident draw may start
        self._urgent_next: dict[str, float] = {}
        self._shift: dict[str, float] = {}  # seconds of urgent traffic so far
        self._lock = asyncio.Lock()

    async def acquire(self, channel: str, count: int, urgent: bool = False) -> None:
        rate = self.rates.get(channel)
        if not rate or count <= 0:
            return
        loop, span = asyncio.get_running_loop(), count / rate
        async with self._lock:
            now = loop.time()
            urgent_next = self._urgent_next.get(channel, now)
            if urgent:
                start = max(now, urgent_next)
                self._urgent_next[channel] = start + span
                self._next[channel] = max(self._next.get(channel, now), now) + span
                self._shift[channel] = self._shift.get(channel, 0.0) + span
            else:
                start = max(now, self._next.get(channel, now), urgent_next)
                self._next[channel] = start + span
            shift = self._shift.get(channel, 0.0)
        while (delay := start - loop.time()) > 0:
            await asyncio.sleep(delay)
            if urgent:
                return
            async with self._lock:  # urgent draws came in meanwhile: they go first
                moved, shift = self._shift.get(channel, 0.0) - shift, self._shift.get(channel, 0.0)
            start += moved


# KEYS[1] the bucket; ARGV rate (tokens/s), capacity, tokens wanted, 1 if urgent. An
# urgent draw takes its tokens (the bucket may go into debt) but never waits: the residents'
# later draws repay the debt. Uses Redis's clock so
# that workers on different machines agree. Returns the seconds to wait, as a string
# (Lua numbers come back truncated to integers).
_DRAW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or capacity
local at = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate) - wanted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
local wait = 0
if tokens < 0 and ARGV[4] ~= '1' then wait = -tokens / rate end
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + capacity / rate) * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """A token bucket per channel in Redis, shared by every worker; one second of burst."""

    def __init__(self, redis: Redis, rates: Mapping[str, float], prefix: str = "ewb:rate") -> None:
        self.redis, self.rates, self.prefix = redis, dict(rates), prefix
        self._draw = redis.register_script(_DRAW)

    async def wait_for(self, channel: str, count: int, urgent: bool = False) -> float:
        """Draw `count` tokens; the seconds to wait before sending them (0 when urgent)."""
        rate = self.rates.get(channel)
        if not rate or count <= 0:
            return 0.0
        args = [rate, rate, count, 1 if urgent else 0]
        answer = await self._draw(keys=[f"{self.prefix}:{channel}"], args=args)
        return float(answer)

    async def acquire(self, channel: str, count: int, urgent: bool = False) -> None:
        wait = await self.wait_for(channel, count, urgent)
        if wait > 0:
            await asyncio.sleep(wait)
