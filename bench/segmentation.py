"""Residents import and segmentation planning at county scale.

Generates N sample residents over the Xiangshui villages, imports them with the real
importer (as `ewb residents import` does), then plans a red typhoon warning for the whole
county and for the three coastal towns, printing figures:

    .venv/bin/python -m bench.segmentation                      # 600,000 residents, SQLite
    .venv/bin/python -m bench.segmentation --residents 100000
    .venv/bin/python -m bench.segmentation --database-url postgresql+asyncpg://postgres@127.0.0.1/ewb_bench
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select

from config.data import (
    DIVISIONS_CSV,
    EXTRA_AREAS_CSV,
    POPULATION_SAMPLE_CSV,
    TERMINALS_SAMPLE_CSV,
    read_csv,
    read_divisions,
)
from config.settings import load_settings
from ewb.bootstrap import build_services
from store import migrate, tables
from store.engine import create_engine
from store.recipients import plan
from subscribers import importer
from subscribers.areas import POPULATION_COLUMNS, parse_divisions, parse_population
from subscribers.sample import HEADER, sample_rows
from subscribers.segmentation import AudienceSpec
from subscribers.terminals import COLUMNS as TERMINAL_COLUMNS
from subscribers.terminals import parse_terminals
from warning.grades import Grade

COASTAL = ("320921101", "320921102", "320921105")  # 陈家港镇, 小尖镇, 双港镇


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024


async def prepare(url: str) -> list[tuple[str, int]]:
    """A migrated database with areas and sample population; (village, population) pairs."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    services = build_services(load_settings(database_url=url))
    async with services.store.write() as tx:
        for table in (
            tables.resident_groups,
            tables.resident_channels,
            tables.resident_hazard_grades,
            tables.channel_optouts,
            tables.residents,
        ):
            await tx.conn.execute(delete(table))
        for path in (DIVISIONS_CSV, EXTRA_AREAS_CSV):
            areas, errors = parse_divisions(read_divisions(path), await tx.areas.tree())
            assert not errors, errors
            await tx.areas.upsert(areas)
        figures, errors = parse_population(
            read_csv(POPULATION_SAMPLE_CSV, POPULATION_COLUMNS), await tx.areas.tree()
        )
        assert not errors, errors
        await tx.areas.set_population(figures)
        found, errors = parse_terminals(
            read_csv(TERMINALS_SAMPLE_CSV, TERMINAL_COLUMNS), (await tx.areas.tree()).codes()
        )
        assert not errors, errors
        await tx.terminals.upsert(found)
        villages = [
            (f.code, f.population) for f in await tx.areas.figures() if f.level == "village"
        ]
    await services.store.close()
    return villages


async def chunks(path: Path, size: int = 1 << 20):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        while block := f.read(size):
            yield block


async def run(url: str, count: int, tmp: Path) -> None:
    villages = await prepare(url)
    csv_path = tmp / "residents.csv"
    started = time.perf_counter()
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(sample_rows(villages, count))
    print(
        f"backend {url.split(':', 1)[0]}; generated {count:,} residents "
        f"({csv_path.stat().st_size / 1e6:.0f} MB CSV) in {time.perf_counter() - started:.1f} s"
    )

    services = build_services(load_settings(database_url=url))
    known = await importer.known_for(services.store, services.catalog)
    for attempt in ("first import", "re-import (no changes)"):
        now = datetime.now(UTC)
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=2) as pool:
            report = await importer.import_residents(
                chunks(csv_path), known, importer.StoreWriter(services.store, now), executor=pool
            )
        elapsed = time.perf_counter() - started
        print(
            f"  {attempt}: {report.rows:,} rows in {elapsed:.1f} s = {report.rows / elapsed:,.0f}"
            f" rows/s (inserted {report.inserted:,}, updated {report.updated:,}, unchanged"
            f" {report.unchanged:,}, refused {report.refused:,})"
        )

    for label, areas in (("whole county", ("320921",)), ("three coastal towns", COASTAL)):
        spec = AudienceSpec(
            areas=areas,
            groups=frozenset(),
            hazard="typhoon",
            grade=Grade.RED,
            test_only=False,
            no_voice_only_groups=services.catalog.no_voice_only_groups(),
        )
        async with services.store.read() as tx:
            started = time.perf_counter()
            planned = (
                await tx.conn.execute(select(func.count()).select_from(plan(spec).subquery()))
            ).scalar_one()
            plan_s = time.perf_counter() - started
            started = time.perf_counter()
            audience = await tx.recipients.audience(spec)
            audience_s = time.perf_counter() - started
        print(
            f"  red typhoon, {label}: plan {planned:,} recipients in {plan_s:.2f} s"
            f" = {planned / plan_s:,.0f} recipients/s; audience forecast {audience_s:.2f} s"
            f" ({audience.by_channel}, unreachable {audience.unreachable:,},"
            f" terminals {audience.terminals})"
        )
    await services.store.close()
    print(f"  peak memory: {peak_mb():.0f} MB (largest of this process and its worker)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=600_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.residents, Path(tmp)))


if __name__ == "__main__":
    main()
