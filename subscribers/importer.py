"""Streaming residents import: CSV records in, batches validated and upserted, a report out.

Records are validated in batches off the event loop (a process pool in the CLI, a thread
in the web server) while the previous batch is written, each batch in its own transaction
so an import never holds the database for long. Bad rows are reported, good rows stored.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from store.db import Store
from store.residents import IMPORTED, UpsertCounts
from subscribers.residents import (
    CSV_COLUMNS,
    OPTIONAL_COLUMNS,
    BadResident,
    Known,
    Resident,
    known_from,
    parse,
)
from warning.catalog import Catalog

BATCH = 5000


@dataclass(frozen=True)
class RowError:
    line: int
    external_id: str
    field: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.errors)


class BadFile(ValueError):
    """The file as a whole cannot be read (header, encoding)."""


async def records(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, str]]:
    """(first line number, text) of each CSV record; a quoted field may span lines."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending, line, start = "", 0, 1
    async for chunk in chunks:
        try:
            text = pending + decoder.decode(chunk)
        except UnicodeDecodeError as e:
            raise BadFile(f"not UTF-8 near line {line + 1}: {e.reason}") from None
        *complete, pending = text.split("\n")
        record = ""
        for part in complete:
            line += 1
            record = f"{record}\n{part}" if record else part
            if record.count('"') % 2 == 0:
                yield start, record
                record, start = "", line + 1
        pending = f"{record}\n{pending}" if record else pending
    tail = pending + decoder.decode(b"", final=True)
    if tail.strip():
        yield start, tail


def _header(record: str) -> list[str]:
    columns = [c.strip() for c in next(csv.reader([record]))]
    missing = [c for c in CSV_COLUMNS if c not in columns]
    if missing:
        raise BadFile(
            f"the header lacks the columns {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
        )
    unknown = [c for c in columns if c not in CSV_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise BadFile(f"unknown columns {', '.join(unknown)}")
    return columns


def validate_batch(
    batch: list[tuple[int, str]], columns: list[str], known: Known
) -> tuple[list[tuple[int, Resident]], list[RowError]]:
    """Parse and check one batch of records (runs in a worker; pure)."""
    good, bad = [], []
    for line, record in batch:
        values = next(csv.reader([record]), [])
        if len(values) != len(columns):
            bad.append(
                RowError(
                    line,
                    values[0] if values else "",
                    "row",
                    f"{len(values)} fields, the header has {len(columns)}",
                )
            )
            continue
        row = dict(zip(columns, values, strict=True))
        try:
            good.append((line, parse(row, known)))
        except BadResident as e:
            bad.append(RowError(line, row.get("external_id", ""), e.field, str(e)))
    return good, bad


class Write(Protocol):
    """Stores one batch of residents; `finish` runs once after the last batch."""

    async def __call__(self, batch: list[Resident]) -> UpsertCounts: ...

    async def finish(self) -> None: ...


class StoreWriter:
    """Writes each batch in a transaction of its own (other writers get turns between);
    at the end refreshes the statistics the segmentation planner's queries rely on."""

    def __init__(self, store: Store, now: datetime) -> None:
        self.store, self.now = store, now

    async def __call__(self, batch: list[Resident]) -> UpsertCounts:
        async with self.store.write() as tx:
            return await tx.residents.upsert_many(batch, self.now)

    async def finish(self) -> None:
        async with self.store.write() as tx:
            await tx.analyze(*IMPORTED)


async def known_for(store: Store, catalog: Catalog) -> Known:
    """Areas a resident may live in (any but the county itself) and the catalog's groups."""
    async with store.read() as tx:
        return known_from(await tx.areas.tree(), catalog.groups)


async def import_residents(
    chunks: AsyncIterator[bytes],
    known: Known,
    write: Write,
    *,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
    ahead: int = 2,
) -> ImportReport:
    """Read, validate and write residents; `write(batch)` stores one batch, returns counts."""
    loop = asyncio.get_running_loop()
    report = ImportReport()
    seen: dict[str, int] = {}
    stream = records(chunks)
    first = await anext(stream, None)
    if first is None:
        raise BadFile("the file is empty")
    columns = _header(first[1])
    in_flight: deque[asyncio.Future[Any]] = deque()
    batch: list[tuple[int, str]] = []

    async def finish(validated: Any) -> None:
        good, bad = validated
        report.errors.extend(bad)
        fresh = []
        for line, resident in good:
            if resident.external_id in seen:
                report.errors.append(
                    RowError(
                        line,
                        resident.external_id,
                        "external_id",
                        f"duplicate id in the file (first on line {seen[resident.external_id]})",
                    )
                )
            else:
                seen[resident.external_id] = line
                fresh.append(resident)
        counts = await write(fresh)
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        if progress:
            progress(len(good) + len(bad))

    async for line, record in stream:
        if not record.strip():
            continue
        report.rows += 1
        batch.append((line, record))
        if len(batch) >= batch_size:
            in_flight.append(loop.run_in_executor(executor, validate_batch, batch, columns, known))
            batch = []
            if len(in_flight) > ahead:  # keep the workers busy while this batch is written
                await finish(await in_flight.popleft())
    if batch:
        in_flight.append(loop.run_in_executor(executor, validate_batch, batch, columns, known))
    while in_flight:
        await finish(await in_flight.popleft())
    await write.finish()
    report.errors.sort(key=lambda e: e.line)
    return report
