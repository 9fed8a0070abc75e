"""Schema migrations with Alembic, run on the application's own async engine."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _run(connection: Connection, revision: str, down: bool) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)
    if connection.dialect.name == "sqlite":  # keys were off while tables were rebuilt
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


@asynccontextmanager
async def _migrating(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """SQLite: a separate engine with foreign keys off (see create_engine)."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    own = create_engine(engine.url.render_as_string(hide_password=False), migrating=True)
    try:
        yield own
    finally:
        await own.dispose()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest)."""
    async with _migrating(engine) as target, target.begin() as conn:
        await conn.run_sync(_run, revision, False)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with _migrating(engine) as target, target.begin() as conn:
        await conn.run_sync(_run, revision, True)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def status(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the newest revision in the code)."""
    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    return current, code_head()


@functools.cache
def code_head() -> str | None:
    """The newest revision in the code (its files read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
