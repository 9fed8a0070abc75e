"""`ewb backup FILE` and `ewb restore FILE`: the whole database, consistent, in one file.

SQLite: the online backup API (a consistent copy while ewb runs). PostgreSQL: `pg_dump`
in its custom format, restored by `pg_restore` in one transaction (all or nothing). A
backup never overwrites a file; a restore refuses a database that holds anything unless
`--force`, and checks the audit chain once restored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from config.settings import Settings
from ewb import admin
from ewb.admin import AdminError
from store import tables
from store.engine import create_engine

# A database holding any of these is not empty: a restore would replace real records.
_CONTENT = (tables.warnings, tables.audit_log, tables.deliveries, tables.residents)


async def backup(settings: Settings, args: argparse.Namespace) -> int:
    target: Path = args.file
    if await asyncio.to_thread(target.exists):
        raise AdminError(f"{target} exists: a backup never overwrites a file; name another")
    await admin.require_migrated(settings)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if _is_sqlite(settings):
            await asyncio.to_thread(_sqlite_copy, _sqlite_path(settings), partial)
        else:
            await _run("pg_dump", settings, "--format=custom", "--no-owner", f"--file={partial}")
        await asyncio.to_thread(partial.rename, target)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    size = (await asyncio.to_thread(target.stat)).st_size
    print(f"backed up {settings.public()['database_url']} to {target} ({size:,} bytes)")
    return 0


async def restore(settings: Settings, args: argparse.Namespace) -> int:
    source: Path = args.file
    if not await asyncio.to_thread(source.is_file):
        raise AdminError(f"{source}: no such backup file")
    held = await _held(settings)
    if held and not args.force:
        raise AdminError(
            f"the database is not empty ({held}): restoring would replace it; add --force"
        )
    if _is_sqlite(settings):
        await asyncio.to_thread(_sqlite_copy, source, _sqlite_path(settings))
    else:
        await _run(
            "pg_restore",
            settings,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            str(source),
        )
    print(f"restored {source} into {settings.public()['database_url']}")
    return await admin.audit_verify(settings, args)


async def _held(settings: Settings) -> str:
    """What the database holds, as "3 warnings, 12 audit_log", or "" when empty (or new)."""
    engine = create_engine(settings.db_url)
    try:
        async with engine.connect() as conn:
            found = []
            for table in _CONTENT:
                try:
                    count = (
                        await conn.execute(select(func.count()).select_from(table))
                    ).scalar_one()
                except Exception:  # no such table: a database never migrated is empty
                    await conn.rollback()
                    continue
                if count:
                    found.append(f"{count} {table.name}")
            return ", ".join(found)
    finally:
        await engine.dispose()


def _is_sqlite(settings: Settings) -> bool:
    return settings.db_url.startswith("sqlite")


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.db_url).database
    if not database or database == ":memory:":
        raise AdminError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while other connections write."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


async def _run(tool: str, settings: Settings, *args: str) -> None:
    """Run pg_dump or pg_restore against the configured database (its password in the
    environment, not on the command line); AdminError with its message if it fails."""
    binary = shutil.which(tool)
    if binary is None:
        raise AdminError(
            f"{tool} is not installed: install the PostgreSQL client tools"
            " (Debian: apt-get install postgresql-client), of the server's major version"
        )
    url = make_url(settings.db_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--dbname={dsn}",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise AdminError(f"{tool} failed: {err.decode(errors='replace').strip()[-2000:]}")
