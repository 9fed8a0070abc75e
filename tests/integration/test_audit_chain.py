"""`ewb audit verify` finds edited and deleted audit rows in the real database."""

from __future__ import annotations

from sqlalchemy import delete, update

from config.settings import Settings
from ewb.services import Services
from store import tables
from tests.integration.cli import ewb
from tests.integration.conftest import Api
from tests.integration.flows import issue_new


async def test_intact_chain_verifies(api: Api, settings: Settings) -> None:
    await issue_new(api, grade="blue", hazard="rainstorm")
    result = ewb(settings, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "audit chain intact: 4 entries" in result.stdout


async def test_an_edited_row_is_named(api: Api, settings: Settings, services: Services) -> None:
    await issue_new(api, grade="blue", hazard="rainstorm")
    async with services.store.write() as tx:
        await tx.conn.execute(
            update(tables.audit_log).where(tables.audit_log.c.seq == 2).values(actor="someone_else")
        )
    result = ewb(settings, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at entry 2" in result.stderr


async def test_a_deleted_row_is_named(api: Api, settings: Settings, services: Services) -> None:
    await issue_new(api, grade="blue", hazard="rainstorm")
    async with services.store.write() as tx:
        await tx.conn.execute(delete(tables.audit_log).where(tables.audit_log.c.seq == 3))
    result = ewb(settings, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at entry 3" in result.stderr and "missing" in result.stderr


async def test_deleting_the_newest_rows_is_caught(
    api: Api, settings: Settings, services: Services
) -> None:
    await issue_new(api, grade="blue", hazard="rainstorm")
    async with services.store.write() as tx:
        await tx.conn.execute(delete(tables.audit_log).where(tables.audit_log.c.seq >= 3))
    result = ewb(settings, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at entry 3" in result.stderr and "deleted" in result.stderr


async def test_a_deleted_head_row_is_named_without_a_traceback(
    api: Api, settings: Settings, services: Services
) -> None:
    await issue_new(api, grade="blue", hazard="rainstorm")
    async with services.store.write() as tx:
        await tx.conn.execute(delete(tables.audit_head))
    result = ewb(settings, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN" in result.stderr and "audit_head" in result.stderr
    assert "Traceback" not in result.stderr
