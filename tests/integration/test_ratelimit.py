"""The shared rate limit: one token bucket per channel in a real Redis, drawn from by
every worker."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from delivery.ratelimit import RedisRateLimiter
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
