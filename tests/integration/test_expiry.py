"""Issued versions become expired by time, through the scheduler's job."""

from __future__ import annotations

from datetime import timedelta

from delivery.scheduler import expire_due
from ewb.services import Services
from tests.integration.conftest import Api, FakeClock
from tests.integration.flows import draft, issue_new, ok
from tests.support import NOW


async def test_expire_due_marks_only_issued_versions_past_expiry(
    api: Api, services: Services, clock: FakeClock
) -> None:
    issued = await issue_new(api, grade="yellow")
    pending = await draft(api, grade="red")
    assert await expire_due(services) == 0

    clock.now = NOW + timedelta(days=1, seconds=1)
    assert await expire_due(services) == 1

    expired = await ok(api.get(f"/warnings/{issued['id']}"))
    assert expired["state"] == "expired"
    assert expired["ended_at"] == "2026-07-29T08:00:01+08:00"
    assert (await ok(api.get(f"/warnings/{pending['id']}")))["state"] == "draft"
    audit = await ok(api.get(f"/audit?warning_id={issued['id']}"))
    assert (audit["entries"][-1]["actor"], audit["entries"][-1]["action"]) == ("system", "expire")
    refused = await api.post(
        f"/warnings/{issued['id']}/revisions", "forecaster", {"action": "update"}
    )
    assert refused.status == 409
    assert await expire_due(services) == 0
