"""/healthz answers while the process lives; /readyz names what keeps it from its work."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from ewb.bootstrap import make_app
from tests.integration.cluster import cluster
from tests.integration.conftest import FakeClock
from tests.integration.servers import PrivateRedis
from web.keys import SERVICES


async def _ready(client: Any, path: str = "/readyz") -> tuple[int, dict[str, Any]]:
    async with client.get(path) as reply:
        return reply.status, await reply.json()


async def test_embedded_ready_once_the_runner_loops_and_not_on_an_old_schema(
    aiohttp_client: Any,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    client = await aiohttp_client(make_app(settings, clock))  # with its runner and timers
    assert await _ready(client, "/healthz") == (200, {"status": "ok"})
    for _ in range(50):
        status, body = await _ready(client)
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, body
    assert body["checks"]["database"].startswith("ok") and body["checks"]["runner"].startswith("ok")

    store = client.app[SERVICES].store
    async with store.engine.begin() as conn:
        (revision,) = (await conn.execute(text("SELECT version_num FROM alembic_version"))).one()
        await conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        status, body = await _ready(client)
        assert status == 503 and body["error"] == "not_ready"
        assert "database" in body["message"] and "ewb db upgrade" in body["message"]
        assert await _ready(client, "/healthz") == (200, {"status": "ok"})  # still alive
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


async def test_distributed_ready_needs_redis_and_a_scheduler(settings) -> None:  # type: ignore[no-untyped-def]
    redis = PrivateRedis(settings.var_dir)
    await redis.start()
    try:
        async with cluster(settings, broker_url=redis.url) as c:
            client = c.api.client
            status, body = await _ready(client)
            assert status == 503 and "no ewb scheduler" in body["checks"]["redis"], body
            await c.start("scheduler", "s1")
            for _ in range(100):
                status, body = await _ready(client)
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200, body
            await redis.stop()
            status, body = await _ready(client)
            assert status == 503 and body["message"].startswith("redis:"), body
    finally:
        await redis.stop()
