"""From an `issued` outbox row to a version's deliveries and batches, in one transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from delivery import lanes
from delivery.lanes import CHANGE, RELAY
from ewb.services import Services
from store import writers
from store.db import Tx
from store.tables import deliveries, delivery_events
from store.users import OfficerRow
from subscribers.officers import serves
from subscribers.segmentation import spec_for
from warning.model import Mode, State, Version, Warning
from warning.rules import Rules

log = logging.getLogger("ewb.delivery.fanout")

# A version planned with at least this many deliveries has the deliveries' statistics
# refreshed at once (PostgreSQL); autovacuum would take up to a minute.
ANALYZE_AFTER = 10_000


def priority(version: Version, relay: bool) -> int:
    """Red before orange before yellow before blue; within a grade an update or all-clear
    before a first warning (it corrects what people heard), relays first (lanes.py)."""
    change = CHANGE if version.number > 1 else 0
    return version.grade.rank * 10 + change + (RELAY if relay else 0)


def _officer_rows(
    officers: list[OfficerRow], warning: Warning, version: Version, rules: Rules, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for officer in officers:
        if not serves(officer.areas, version.areas, rules.areas):
            continue
        channel, address = (
            ("wecom", officer.wecom_id) if officer.wecom_id else ("sms", officer.phone)
        )
        if not address:
            continue  # an officer with neither is listed by `ewb officers gaps` work
        rows.append(
            {
                "warning_id": warning.id,
                "version": version.number,
                "recipient_kind": "officer",
                "recipient_id": officer.username,
                "channel": channel,
                "address": address,
                "state": "pending",
                "attempts": 0,
                "priority": priority(version, True),
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


RESIDENTS_EVENT = "plan_residents"  # the outbox row of a version's second planning step


async def plan_relays(
    tx: Tx, warning: Warning, version: Version, now: datetime, batch_size: int
) -> dict[str, Any]:
    """The first step of planning a version: its officers and loudspeaker terminals, with
    their batches, committed before its residents are planned (a county's residents take
    seconds to plan; the loudspeakers must not wait for them). The residents follow in a
    second outbox row, written here."""
    assert warning.id is not None
    rules = await tx.rules()
    wid, number = warning.id, version.number
    # The residents' unsent deliveries of older versions are cancelled in the second step (a
    # county's take a while): their batches stop at their next chunk anyway, for the older
    # version is no longer in force (delivery/batch.py).
    cancelled = await tx.fanout.cancel_older(wid, number, now, residents=False)
    summary: dict[str, Any] = {"cancelled_earlier": cancelled}
    relay = priority(version, True)
    if version.is_cancel:
        # An all-clear goes to those who were sent the warning: officers and terminals too
        # (a terminal that never played it has nothing to cancel).
        await tx.fanout.add_previous(wid, number, relay, now, ("officer", "terminal"))
    else:
        if version.mode is not Mode.TEST:
            await tx.fanout.add_rows(
                _officer_rows(await tx.users.officers(), warning, version, rules, now)
            )
        if number > 1:  # officers an earlier version reached (and not planned above)
            await tx.fanout.add_previous(wid, number, relay, now, ("officer",))
        if version.mode is not Mode.TEST:  # an exercise plays as a drill (channels/ebd.py)
            await tx.fanout.add_terminals(wid, number, version.areas, relay, now)
    batches = 0
    for kind in ("officer", "terminal"):
        await tx.fanout.queue_events(wid, number, now, kind=kind)
        batches += await tx.fanout.make_batches(wid, number, batch_size, now, kind=kind)
    summary["batches"] = batches
    await tx.outbox.add(wid, number, RESIDENTS_EVENT, now)
    return summary


async def plan_residents(
    tx: Tx, warning: Warning, version: Version, now: datetime, batch_size: int
) -> dict[str, Any]:
    """The second step: the version's residents, set-based, cut into batches."""
    assert warning.id is not None
    rules = await tx.rules()
    wid, number = warning.id, version.number
    cancelled = await tx.fanout.cancel_older(wid, number, now, residents=True)
    if version.is_cancel:  # the all-clear goes to those who were sent the warning
        await tx.fanout.add_previous(wid, number, priority(version, False), now, ("resident",))
    else:
        spec = spec_for(version, rules.catalog)
        await tx.fanout.add_planned(wid, number, spec, priority(version, False), now)
        if number > 1:  # those an earlier version reached (and not planned above) hear too
            await tx.fanout.add_previous(wid, number, priority(version, False), now, ("resident",))
    await tx.fanout.queue_events(wid, number, now, kind="resident")
    batches = await tx.fanout.make_batches(wid, number, batch_size, now, kind="resident")
    deliveries = await tx.fanout.summary(wid, number)
    return {"cancelled_earlier": cancelled, "batches": batches, "deliveries": deliveries}


async def plan_next(services: Services, *, urgent_first: bool = False) -> dict[str, Any] | None:
    """Process the oldest outbox row, if any; returns what was planned. An issued version
    takes two rows: its relays first (`plan_relays`), then its residents. With
    `urgent_first` (a worker whose one process also sends), a residents' row waits while
    loudspeaker or officer batches made in the last `batch_requeue_seconds` are ready to
    go: `{"deferred": ...}` is returned and nothing is planned."""
    now = services.clock()
    with writers.urgent():  # SQLite: planning does not queue behind a fan-out's writes
        return await _plan_next(services, now, urgent_first)


async def _plan_next(
    services: Services, now: datetime, urgent_first: bool
) -> dict[str, Any] | None:
    async with services.store.write() as tx:
        row = await tx.batches.claim_outbox(last=RESIDENTS_EVENT)  # relays before residents
        if row is None:
            return None
        if urgent_first and row.event == RESIDENTS_EVENT:
            since = now - timedelta(seconds=services.settings.batch_requeue_seconds)
            if await tx.batches.fresh_ready(lanes.urgent_kinds(), since, now):
                return {"warning_id": row.warning_id, "version": row.version, "deferred": True}
        warning = (await tx.warnings.get(row.warning_id)).warning
        version = warning.version(row.version)
        step = plan_residents if row.event == RESIDENTS_EVENT else plan_relays
        if version.state is not State.ISSUED:
            summary: dict[str, Any] = {"skipped": f"version is {version.state.value}"}
        else:
            summary = await step(tx, warning, version, now, services.settings.batch_size)
        await tx.batches.finish_outbox(row.id, summary, services.clock())
    planned = sum(
        n for per_kind in summary.get("deliveries", {}).values() for n in per_kind.values()
    )
    if planned >= ANALYZE_AFTER:
        async with services.store.write() as tx:  # the batches' queries plan on fresh figures
            await tx.analyze(deliveries, delivery_events)
    log.info("planned warning %s v%s (%s): %s", row.warning_id, row.version, row.event, summary)
    return {"warning_id": row.warning_id, "version": row.version, "step": row.event, **summary}


async def plan_all(services: Services) -> list[dict[str, Any]]:
    """Every outbox row waiting, planned (tests, and callers that need all of it at once)."""
    planned = []
    while (found := await plan_next(services)) is not None:
        planned.append(found)
    return planned
