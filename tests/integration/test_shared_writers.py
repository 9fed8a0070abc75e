"""Every store of the process on one SQLite file queues its writers in the same queue: the
web app's and the runner's writers never meet in SQLite's own busy wait, where an urgent
planning waited behind the other store's writers (up to 2 s during a fan-out)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from ewb.bootstrap import build_services
from store import writers
from tests.integration.conftest import FakeClock


async def test_an_urgent_write_of_one_store_goes_ahead_of_another_stores_writers(
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no one-writer lock to queue for")
    web, runner = build_services(settings, clock), build_services(settings, clock)
    order: list[str] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def write(store, name: str, hold: bool = False) -> None:  # type: ignore[no-untyped-def]
        async with store.write() as tx:
            await tx.conn.execute(text("UPDATE sequences SET value = value WHERE 1 = 0"))
            order.append(name)
            if hold:
                holding.set()
                await release.wait()

    try:
        first = asyncio.create_task(write(web.store, "callback under way", hold=True))
        await holding.wait()
        callbacks = [asyncio.create_task(write(web.store, f"callback {n}")) for n in range(3)]
        await asyncio.sleep(0.05)
        with writers.urgent():
            planning = asyncio.create_task(write(runner.store, "planning"))
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.wait_for(asyncio.gather(first, planning, *callbacks), 10)
        assert order == [
            "callback under way",
            "planning",
            "callback 0",
            "callback 1",
            "callback 2",
        ]
    finally:
        await web.store.close()
        await runner.store.close()
