"""The migrations build exactly the schema the code declares, and come back down."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, select

from config.settings import Settings
from store import migrate, tables
from store.engine import create_engine
from store.tables import metadata
from tests.support import NOW


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_newest_migration_comes_down_and_up_again_with_data(
    settings: Settings,
) -> None:
    engine = create_engine(settings.database_url)
    row = {
        "warning_id": 1,
        "version": 1,
        "recipient_kind": "resident",
        "recipient_id": "1",
        "channel": "sms",
        "address": "+8613800000001",
        "state": "sent",
        "created_at": NOW,
        "updated_at": NOW,
    }
    try:
        async with engine.begin() as conn:  # rows that refer to rows of a rebuilt table
            delivery_id = (
                await conn.execute(insert(tables.deliveries).values(row))
            ).inserted_primary_key[0]
            await conn.execute(
                insert(tables.delivery_events).values(delivery_id=delivery_id, event="sent", at=NOW)
            )
        await migrate.downgrade(engine, "-1")
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            kept = (await conn.execute(select(tables.delivery_events.c.delivery_id))).scalars()
            assert list(kept) == [delivery_id]
    finally:
        await engine.dispose()
