"""The INSERT of the connection's dialect, the one that has ON CONFLICT (upserts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection) -> Any:
    """PostgreSQL's or SQLite's `insert`, with `on_conflict_do_nothing`/`_do_update`."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
