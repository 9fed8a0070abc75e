"""`ewb backup` and `ewb restore`: a round trip keeps every warning, delivery, event and
audit entry, and the restored audit chain verifies; nothing is ever overwritten unasked."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from config.settings import Settings
from ewb.services import Services
from sim import twilio
from store import tables
from tests.integration.cli import ewb, start_ewb
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import issue_new
from tests.integration.test_fanout import COUNTY
from tests.integration.test_planner import make_population, store_population

KEPT = (
    tables.warnings,
    tables.warning_versions,
    tables.approvals,
    tables.deliveries,
    tables.delivery_events,
    tables.audit_log,
    tables.audit_head,
    tables.residents,
    tables.areas,
)


async def _ewb(settings: Settings, *args: str) -> tuple[int, str, str]:
    """The command beside this test's event loop: the simulators' callbacks to ewb keep
    being answered meanwhile (a blocked loop would hold their transactions open)."""
    process = await start_ewb(settings, *args)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def _quiet(e: Any) -> None:
    """Until the simulators have posted every status callback (none for 1.5 s): only then
    does the database stand still long enough to compare it with a backup."""
    posted = e.sims["twilio"][twilio.CALLBACKS].posted
    seen = -1
    while seen != len(posted):
        seen = len(posted)
        await asyncio.sleep(1.5)


async def _rows(services: Services) -> dict[str, list[Any]]:
    await services.store.engine.dispose()  # connections made before a restore replaced it
    async with services.store.read() as tx:
        return {
            t.name: sorted(
                tuple(map(repr, r)) for r in await tx.conn.execute(text(f"SELECT * FROM {t.name}"))
            )
            for t in KEPT
        }


async def test_a_backup_restores_every_record_and_the_audit_chain(
    api: Api,
    settings: Settings,
    clock: FakeClock,
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=30))
        await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        await _quiet(e)
        before = await _rows(e.services)
        assert before["deliveries"] and before["delivery_events"] and before["audit_log"]

        file = settings.var_dir / "ewb.backup"
        code, out, err = await _ewb(settings, "backup", str(file))
        assert code == 0 and "backed up" in out, err
        code, _, err = await _ewb(settings, "backup", str(file))
        assert code == 1 and "never overwrites" in err

        await issue_new(api, grade="blue", hazard="rainstorm", areas=COUNTY)  # after the backup
        await e.runner.drain()
        code, _, err = await _ewb(settings, "restore", str(file))
        assert code == 1 and "not empty" in err and "--force" in err
        assert (await _rows(e.services)) != before  # nothing was touched

        code, out, err = await _ewb(settings, "restore", "--force", str(file))
        assert code == 0, err
        assert "audit chain intact" in out
        assert await _rows(e.services) == before
        assert ewb(settings, "audit", "verify").returncode == 0


async def test_restore_names_a_missing_file(settings: Settings) -> None:
    missing = ewb(settings, "restore", str(settings.var_dir / "nothing.backup"))
    assert missing.returncode == 1 and "no such backup file" in missing.stderr
