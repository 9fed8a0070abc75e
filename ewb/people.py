"""CLI commands for areas, population, residents, officers and terminals."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from config.data import read_csv
from config.settings import Settings
from ewb.admin import AdminError, services_for
from store.db import Tx
from subscribers import importer
from subscribers.areas import POPULATION_COLUMNS, parse_divisions, parse_population
from subscribers.officers import COLUMNS as OFFICER_COLUMNS
from subscribers.officers import parse_officers, village_gaps
from subscribers.terminals import COLUMNS as TERMINAL_COLUMNS
from subscribers.terminals import parse_terminals

DIVISION_COLUMNS = ("code", "name", "parent_code", "level")
SHOWN_ERRORS = 20  # more than this go to a report file

Parse = Callable[[list[tuple[int, dict[str, str]]], Tx], Awaitable[tuple[Sequence[Any], list[str]]]]
Store = Callable[[Tx, Sequence[Any], datetime], Awaitable[int]]


async def _load(
    settings: Settings, path: Path, columns: Sequence[str], parse: Parse, store: Store
) -> int:
    """Check every row of a CSV; store them all in one transaction, or none if any is bad."""
    if not path.is_file():
        raise AdminError(f"{path}: no such file")
    try:
        rows = list(read_csv(path, columns))
    except (ValueError, UnicodeDecodeError) as e:
        raise AdminError(f"{path}: {e}") from e
    async with services_for(settings) as services, services.store.write() as tx:
        items, errors = await parse(rows, tx)
        if errors:
            for error in errors:
                print(f"{path}: {error}", file=sys.stderr)
            raise AdminError(f"{len(errors)} bad row(s); nothing was loaded")
        return await store(tx, items, services.clock())


async def areas_load(settings: Settings, args: argparse.Namespace) -> int:
    async def parse(rows: Any, tx: Tx) -> Any:
        return parse_divisions(rows, await tx.areas.tree())

    async def store(tx: Tx, areas: Any, now: datetime) -> int:
        written = await tx.areas.upsert(areas)
        print(
            f"loaded {written} areas from {args.csv}; {await tx.areas.count()} areas in the"
            " database"
        )
        return 0

    return await _load(settings, args.csv, DIVISION_COLUMNS, parse, store)


async def areas_population(settings: Settings, args: argparse.Namespace) -> int:
    async def parse(rows: Any, tx: Tx) -> Any:
        return parse_population(rows, await tx.areas.tree())

    async def store(tx: Tx, figures: Any, now: datetime) -> int:
        written = await tx.areas.set_population(figures)
        county = [f for f in await tx.areas.figures() if f.level == "county"]
        total = ", ".join(f"{f.name} {f.population:,} ({f.population_source})" for f in county)
        print(f"population of {written} areas set from {args.csv}; {total}")
        return 0

    return await _load(settings, args.csv, POPULATION_COLUMNS, parse, store)


async def terminals_load(settings: Settings, args: argparse.Namespace) -> int:
    async def parse(rows: Any, tx: Tx) -> Any:
        return parse_terminals(rows, (await tx.areas.tree()).codes())

    async def store(tx: Tx, terminals: Any, now: datetime) -> int:
        print(f"loaded {await tx.terminals.upsert(terminals)} terminals from {args.csv}")
        return 0

    return await _load(settings, args.csv, TERMINAL_COLUMNS, parse, store)


async def officers_load(settings: Settings, args: argparse.Namespace) -> int:
    async def parse(rows: Any, tx: Tx) -> Any:
        return parse_officers(rows, await tx.areas.tree())

    async def store(tx: Tx, officers: Any, now: datetime) -> int:
        taken = [o.username for o in officers if not await tx.users.upsert_officer(o, now)]
        if taken:
            raise AdminError(f"these usernames belong to users of another role: {taken}")
        print(
            f"loaded {len(officers)} information officers from {args.csv}"
            " (set a password with `ewb user password` before they sign in)"
        )
        return 0

    return await _load(settings, args.csv, OFFICER_COLUMNS, parse, store)


async def officers_gaps(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services, services.store.read() as tx:
        tree = await tx.areas.tree()
        officers = await tx.users.officers()
    gaps, villages = village_gaps(tree, [o.areas for o in officers])
    for village in gaps:
        town = tree.name(village.parent) if village.parent else ""
        print(f"{village.code}\t{town}\t{village.name}")
    print(f"{len(gaps)} of {len(villages)} villages have no information officer", file=sys.stderr)
    return 1 if gaps else 0


async def _chunks(path: Path, bar: tqdm) -> AsyncIterator[bytes]:  # type: ignore[type-arg]
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            bar.update(len(block))
            yield block


def _write_report(path: Path, report: importer.ImportReport) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "external_id", "field", "reason"])
        writer.writerows((e.line, e.external_id, e.field, e.reason) for e in report.errors)


async def residents_import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.csv
    if not path.is_file():
        raise AdminError(f"{path}: no such file")
    async with services_for(settings) as services:
        known = await importer.known_for(services.store, services.catalog)
        write = importer.StoreWriter(services.store, services.clock())
        bar = tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc="importing",
            file=sys.stderr,
            disable=args.quiet,
        )
        try:
            with ProcessPoolExecutor(max_workers=2) as pool:
                report = await importer.import_residents(
                    _chunks(path, bar), known, write, executor=pool
                )
        except importer.BadFile as e:
            raise AdminError(f"{path}: {e}") from e
        finally:
            bar.close()
    print(
        f"{path}: {report.rows:,} rows: {report.inserted:,} new, {report.updated:,} updated,"
        f" {report.unchanged:,} unchanged, {report.refused:,} refused"
    )
    for error in report.errors[:SHOWN_ERRORS]:
        print(f"{path}: line {error.line}: {error.field}: {error.reason}", file=sys.stderr)
    if report.refused > SHOWN_ERRORS or (report.errors and args.report):
        target = args.report or path.with_name(path.stem + ".errors.csv")
        _write_report(target, report)
        print(f"all {report.refused:,} refused rows are listed in {target}", file=sys.stderr)
    return 1 if report.errors else 0
