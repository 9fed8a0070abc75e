"""Each provider's messages-per-second limit, held by pacing the sends.

Embedded mode paces in-process (`RateLimiter`). Distributed mode shares one token bucket
per channel in Redis (`RedisRateLimiter`): every worker draws from it, so the limit holds
across all of them. A draw may go into debt; the caller then waits until the debt is
repaid, which keeps the order in which workers asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from redis.asyncio import Redis


class Limiter(Protocol):
    async def acquire(self, channel: str, count: int) -> None:
        """Wait until `count` messages may go out on `channel`."""


class RateLimiter:
    """Pacing per channel: n messages take n / rate seconds of the channel's time."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = dict(rates)
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, channel: str, count: int) -> None:
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


# KEYS[1] the bucket; ARGV rate (tokens/s), capacity, tokens wanted. Uses Redis's clock so
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
if tokens < 0 then wait = -tokens / rate end
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + capacity / rate) * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """A token bucket per channel in Redis, shared by every worker; one second of burst."""

    def __init__(self, redis: Redis, rates: Mapping[str, float], prefix: str = "ewb:rate") -> None:
        self.redis, self.rates, self.prefix = redis, dict(rates), prefix
        self._draw = redis.register_script(_DRAW)

    async def wait_for(self, channel: str, count: int) -> float:
        """Draw `count` tokens; the seconds to wait before sending them."""
        rate = self.rates.get(channel)
        if not rate or count <= 0:
            return 0.0
        answer = await self._draw(keys=[f"{self.prefix}:{channel}"], args=[rate, rate, count])
        return float(answer)

    async def acquire(self, channel: str, count: int) -> None:
        wait = await self.wait_for(channel, count)
        if wait > 0:
            await asyncio.sleep(wait)
