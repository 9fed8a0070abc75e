"""The shared rate limit: one token bucket per channel in a real Redis, drawn from by
every worker."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from delivery.ratelimit import RateLimiter, RedisRateLimiter
from tests.integration.cluster import REDIS_URL


@pytest.fixture
async def redis():  # type: ignore[no-untyped-def]
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_two_workers_share_one_bucket(redis: Redis) -> None:
    first = RedisRateLimiter(redis, {"sms": 100.0})
    second = RedisRateLimiter(Redis.from_url(REDIS_URL), {"sms": 100.0})
    assert await first.wait_for("sms", 100) == pytest.approx(0.0, abs=0.02)  # the burst
    # The bucket is empty now, for the other worker too: 50 more take half a second.
    assert await second.wait_for("sms", 50) == pytest.approx(0.5, abs=0.05)
    assert await first.wait_for("sms", 50) == pytest.approx(1.0, abs=0.05)  # in line behind
    assert await first.wait_for("wechat", 1000) == 0.0  # no limit set: no wait
    await second.redis.aclose()


async def test_channels_have_their_own_buckets(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, {"sms": 10.0, "wecom": 10.0})
    assert await limiter.wait_for("sms", 30) == pytest.approx(2.0, abs=0.05)
    assert await limiter.wait_for("wecom", 5) == pytest.approx(0.0, abs=0.02)


async def test_an_urgent_draw_never_waits_and_the_residents_repay_it(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, {"sms": 100.0})
    assert await limiter.wait_for("sms", 300) == pytest.approx(2.0, abs=0.05)  # residents
    # Officers' SMS go out at once, though the residents' draws are 2 s in debt...
    assert await limiter.wait_for("sms", 50, urgent=True) == 0.0
    # ...and the residents' next draw waits for the officers' tokens too.
    assert await limiter.wait_for("sms", 50) == pytest.approx(3.0, abs=0.05)


async def test_embedded_urgent_draws_go_ahead_of_waiting_resident_draws() -> None:
    limiter = RateLimiter({"sms": 100.0})
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def draw(count: int, urgent: bool = False) -> float:
        await limiter.acquire("sms", count, urgent)
        return loop.time() - began

    await draw(100)  # the first resident chunk goes at once and takes the next second
    waiting = asyncio.ensure_future(draw(100))  # the second waits for that second
    await asyncio.sleep(0.1)
    assert await draw(50, urgent=True) < 0.3  # officers do not wait behind it
    # The waiting resident chunk moved back by the officers' half second.
    assert await waiting == pytest.approx(1.5, abs=0.15)
    after = loop.time() - began
    assert await draw(10, urgent=True) - after < 0.1  # urgent queue only behind urgent
