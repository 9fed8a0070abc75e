"""PostgreSQL plans the fan-out on fresh statistics: refreshed after an import and after
a large fan-out is planned (stale, they made planning 20,000 residents 60 times slower)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from delivery import fanout
from ewb.demo import add_sample_residents
from ewb.services import Services
from tests.integration.conftest import Api
from tests.integration.flows import issue_new
from tests.integration.test_planner import make_population, store_population

ODD = 37  # a count no earlier test leaves behind in the statistics


async def estimated_rows(services: Services, table: str) -> float:
    async with services.store.read() as tx:
        found = await tx.conn.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
        )
        return float(found.scalar_one())


def postgresql_only(services: Services) -> None:
    if services.store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no statistics here (see Tx.analyze)")


async def test_loaded_areas_leave_the_planner_fresh_statistics(services: Services) -> None:
    postgresql_only(services)
    async with services.store.write() as tx:
        await tx.conn.execute(text("ANALYZE area_closure"))
        await tx.conn.execute(text("DELETE FROM area_closure WHERE depth > 0"))
        await tx.conn.execute(text("ANALYZE area_closure"))  # now the planner knows few rows
        await tx.areas.rebuild_closure()  # as `ewb areas load` does
        actual = (await tx.conn.execute(text("SELECT count(*) FROM area_closure"))).scalar_one()
    # Stale, a county's 20,000-resident planning slice took 10 s (a nested loop), not 0.12.
    assert await estimated_rows(services, "area_closure") == actual


async def test_an_import_leaves_the_planner_fresh_statistics(services: Services) -> None:
    postgresql_only(services)
    report = await add_sample_residents(services, ODD)  # the importer, as `ewb demo` uses it
    assert report is not None and report.inserted == ODD
    assert await estimated_rows(services, "residents") == ODD


async def test_a_large_fanout_leaves_fresh_statistics_of_its_deliveries(
    api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgresql_only(services)
    await store_population(services, make_population(count=ODD))
    monkeypatch.setattr(fanout, "ANALYZE_AFTER", 10)  # "large" for a small fixture
    await issue_new(api, grade="red", areas=["320921"])
    *_, planned = await fanout.plan_all(services)  # the residents come last
    count = sum(n for kind in planned["deliveries"].values() for n in kind.values())
    assert count >= 10
    assert await estimated_rows(services, "deliveries") == count
