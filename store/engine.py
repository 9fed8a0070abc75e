"""Creating the async engine: the same code for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# Execution option that marks a connection as a writer (see `_sqlite_begin`).
WRITE = "ewb_write"


def create_engine(url: str, *, migrating: bool = False) -> AsyncEngine:
    """An engine for `url`; SQLite files get WAL, foreign keys and eager write locks.

    `migrating` (SQLite only): unpooled connections with foreign keys off, as SQLite asks
    for when a migration rebuilds a table other tables refer to (the migration checks
    the keys itself before it commits).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {"poolclass": NullPool} if migrating else {}
    engine = create_async_engine(url, connect_args={"timeout": 30}, **extra)
    event.listen(engine.sync_engine, "connect", partial(_sqlite_connect, not migrating))
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(foreign_keys: bool, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, emit BEGIN (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A writer takes the write lock at BEGIN, so two read-then-write transactions
    # queue up instead of both reading the same state (SQLite has no SELECT … FOR UPDATE).
    mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")
