"""Two approvals racing for the same version never both succeed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from ewb.services import Services
from store import tables
from tests.integration.conftest import Api
from tests.integration.flows import draft, ok
from tests.support import NOW, actor, rules
from warning import commands
from warning.actors import Role
from warning.errors import InvalidTransition
from warning.model import State

ROUNDS = 8


async def approval_count(services: Services, warning_id: int) -> int:
    async with services.store.read() as tx:
        count = await tx.conn.execute(
            select(func.count())
            .select_from(tables.approvals)
            .where(tables.approvals.c.warning_id == warning_id)
        )
        return int(count.scalar_one())


async def submitted(api: Api, grade: str) -> int:
    wid = int((await draft(api, grade=grade))["id"])
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    return wid


@pytest.mark.parametrize("approvers", [("duty_chief", "duty_chief2"), ("duty_chief", "duty_chief")])
async def test_two_approvals_of_a_blue_version_never_both_succeed(
    api: Api, services: Services, approvers: tuple[str, str]
) -> None:
    for _ in range(ROUNDS):
        wid = await submitted(api, "blue")
        replies = await asyncio.gather(
            *(api.post(f"/warnings/{wid}/approve", who) for who in approvers)
        )
        statuses = sorted(r.status for r in replies)
        assert statuses[0] == 200 and statuses[1] in (403, 409), [r.body for r in replies]
        assert await approval_count(services, wid) == 1
        shown = await ok(api.get(f"/warnings/{wid}"))
        assert shown["state"] == "approved" and len(shown["approvals"]) == 1


async def test_two_duty_chiefs_racing_on_a_red_review_give_one_review(
    api: Api, services: Services
) -> None:
    for _ in range(ROUNDS):
        wid = await submitted(api, "red")
        replies = await asyncio.gather(
            api.post(f"/warnings/{wid}/approve", "duty_chief"),
            api.post(f"/warnings/{wid}/approve", "duty_chief2"),
        )
        assert sorted(r.status for r in replies) == [200, 403]
        loser = next(r for r in replies if r.status == 403)
        assert loser.body["rule"] == "approval_order"  # step 2 is the leader's
        assert await approval_count(services, wid) == 1


async def test_a_save_from_a_stale_read_is_refused(api: Api, services: Services) -> None:
    """The store's own guard, for a writer that skipped the row lock."""
    wid = await submitted(api, "blue")
    async with services.store.read() as tx:
        stale = await tx.warnings.get(wid)
    await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))

    commands.approve(stale.warning, actor("duty_chief2", Role.DUTY_CHIEF), rules(), NOW)
    assert stale.warning.latest.state is State.APPROVED
    with pytest.raises(InvalidTransition):
        async with services.store.write() as tx:
            await tx.warnings.save(stale)
    assert await approval_count(services, wid) == 1
