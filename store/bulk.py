"""Bulk loading into a (staging) table through the driver itself, for imports at scale.

SQLAlchemy's per-row parameter handling costs more than the database work for 600,000
residents, so large batches go straight to the driver: COPY on PostgreSQL (asyncpg),
executemany on SQLite. Values pass through the columns' own bind processors first, so
types (UTC datetimes, booleans) are stored exactly as SQLAlchemy would store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection


async def load(conn: AsyncConnection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Append `rows` (values in the table's column order) to `table`."""
    if not rows:
        return
    columns = list(table.columns)
    processors = [c.type.bind_processor(conn.dialect) for c in columns]
    if any(processors):
        rows = [
            tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in rows
        ]
    raw = (await conn.get_raw_connection()).driver_connection
    names = [c.name for c in columns]
    if conn.dialect.name == "postgresql":
        await raw.copy_records_to_table(table.name, records=rows, columns=names)
    else:
        marks = ", ".join("?" for _ in names)
        await raw.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", rows
        )
