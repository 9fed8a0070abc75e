"""The timers, driven by a controllable clock: expiry, release at onset, repeats, reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from delivery.scheduler import expire_due, release_due, repeat_broadcasts
from ewb.services import Services
from sim import broadcast
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import APPROVERS, approve_all, draft, issue_new, ok, release
from tests.integration.test_fanout import add_relays
from tests.integration.test_planner import make_population, store_population
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


class Woken:
    def __init__(self) -> None:
        self.times = 0

    def wake(self) -> None:
        self.times += 1


async def approved(api: Api, **overrides: object) -> dict[str, Any]:
    created = await draft(api, **overrides)
    await ok(api.post(f"/warnings/{created['id']}/submit", "forecaster"))
    return await approve_all(api, created["id"], APPROVERS[created["grade"]])


async def test_a_version_approved_for_release_is_issued_at_its_onset(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=40))
        wid = (await approved(api, grade="red", areas=["320921"]))["id"]
        scheduled = await ok(api.post(f"/warnings/{wid}/schedule", "duty_chief"))
        assert scheduled["state"] == "approved"
        assert scheduled["release_at"] == scheduled["onset"] == "2026-07-28T10:00:00+08:00"
        assert scheduled["release_by"] == "duty_chief"
        woken = Woken()

        clock.now = NOW + timedelta(hours=1, minutes=59)
        assert await release_due(e.services, woken) == 0
        await e.runner.drain()
        assert await e.deliveries(wid) == []  # nothing goes out before the onset

        clock.now = NOW + timedelta(hours=2)
        assert await release_due(e.services, woken) == 1 and woken.times == 1
        issued = await ok(api.get(f"/warnings/{wid}"))
        assert issued["state"] == "issued" and issued["issued_by"] == "duty_chief"
        assert issued["issued_at"] == "2026-07-28T10:00:00+08:00"
        assert issued["release_at"] is None and issued["cap_identifier"]
        await e.runner.drain()
        assert any(d.state in ("sent", "delivered") for d in await e.deliveries(wid))
        assert await release_due(e.services, woken) == 0  # once
        audit = await ok(api.get(f"/audit?warning_id={wid}"))
        assert [(x["actor"], x["action"]) for x in audit["entries"][-2:]] == [
            ("duty_chief", "schedule"),
            ("system", "release"),
        ]


async def test_scheduling_a_release_is_refused_when_it_cannot_be(
    api: Api, clock: FakeClock
) -> None:
    wid = (await approved(api, grade="blue", hazard="rainstorm"))["id"]
    refused = await api.post(f"/warnings/{wid}/schedule", "officer")
    assert refused.status == 403  # only who may issue may schedule the issue
    clock.now = NOW + timedelta(hours=3)  # the onset (NOW + 2 h) has passed
    late = await api.post(f"/warnings/{wid}/schedule", "duty_chief")
    assert late.status == 422 and late.body["field"] == "onset"
    drafted = await draft(api)
    early = await api.post(f"/warnings/{drafted['id']}/schedule", "duty_chief")
    assert early.status == 409  # not approved yet


async def test_a_scheduled_version_issued_by_hand_is_not_issued_again(
    api: Api, services: Services, clock: FakeClock
) -> None:
    wid = (await approved(api, grade="blue", hazard="rainstorm"))["id"]
    await ok(api.post(f"/warnings/{wid}/schedule", "duty_chief"))
    issued = await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))
    assert issued["release_at"] is None
    clock.now = NOW + timedelta(hours=2)
    assert await release_due(services, Woken()) == 0
    audit = await ok(api.get(f"/audit?warning_id={wid}"))
    assert [x["action"] for x in audit["entries"]].count("issue") == 1


async def test_red_warnings_are_repeated_on_the_loudspeakers_until_they_end(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock, red_repeat_minutes=30) as e:
        await add_relays(e.services)
        red = await issue_new(api, grade="red", areas=["320921"])
        orange = await issue_new(api, grade="orange", hazard="rainstorm", areas=["320921"])
        await e.runner.drain()
        packages = e.sims["broadcast"][broadcast.PACKAGES]
        first = len(packages)
        woken = Woken()

        clock.now = NOW + timedelta(minutes=29)
        assert await repeat_broadcasts(e.services, woken) == 0
        clock.now = NOW + timedelta(minutes=30, seconds=1)
        assert await repeat_broadcasts(e.services, woken) == 1  # red only
        assert woken.times == 1
        await e.runner.drain()
        loudspeakers = [d for d in await e.deliveries(red["id"]) if d.channel == "broadcast"]
        assert sorted((d.recipient_id, d.repeat) for d in loudspeakers) == [
            (t, n) for t in ("T1", "T2", "T3") for n in (0, 1)
        ]
        assert all(d.state in ("sent", "delivered") for d in loudspeakers)
        assert len(packages) > first  # the platform got the warning again
        assert all(d.repeat == 0 for d in await e.deliveries(orange["id"]))
        assert await repeat_broadcasts(e.services, woken) == 0  # not again at once

        await ok(
            api.post(f"/warnings/{red['id']}/revisions", "forecaster", {"action": "cancel"}), 201
        )
        await release(api, red["id"], ["duty_chief"])
        await e.runner.drain()
        clock.now = NOW + timedelta(hours=2)
        assert await repeat_broadcasts(e.services, woken) == 0  # cancelled: silence
