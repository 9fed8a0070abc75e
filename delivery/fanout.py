"""From an `issued` outbox row to a version's deliveries and batches, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from delivery.lanes import CHANGE, RELAY
from ewb.services import Services
from store import writers
from store.db import Tx
from store.outbox import RESIDENTS_EVENT
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
    tx: Tx,
    warning: Warning,
    version: Version,
    now: datetime,
    batch_size: int,
    slice_size: int,
    after_id: int | None = None,
) -> dict[str, Any]:
    """The second step: the version's residents, set-based, cut into batches, one slice
    of `slice_size` residents (by id, after `after_id`) per outbox row: a county's take
    seconds, and an urgent version issued meanwhile is planned between two slices. In each
    slice, the residents an earlier version reached (an update's, an all-clear's only
    audience) are added after those planned. Each slice but the last writes the next one's
    row; the last returns what the whole version holds (`deliveries`)."""
    assert warning.id is not None
    rules = await tx.rules()
    wid, number = warning.id, version.number
    resident = priority(version, False)
    since = await tx.fanout.last_delivery_id()
    summary: dict[str, Any] = {}
    if after_id is None:
        summary["cancelled_earlier"] = await tx.fanout.cancel_older(
            wid, number, now, residents=True
        )
    upto = await tx.fanout.slice_end(after_id, slice_size)
    if not version.is_cancel:  # an all-clear goes to those who were sent the warning
        spec = spec_for(version, rules.catalog)
        await tx.fanout.add_planned(wid, number, spec, resident, now, after_id, upto)
    if version.is_cancel or number > 1:  # those of the slice an earlier version reached
        await tx.fanout.add_previous(
            wid, number, resident, now, ("resident",), after=after_id, upto=upto
        )
    if upto is not None:
        await tx.outbox.add(wid, number, RESIDENTS_EVENT, now, after_id=upto)
        summary["planned_upto"] = upto
    await tx.fanout.queue_events(wid, number, now, kind="resident", since_id=since)
    summary["batches"] = await tx.fanout.make_batches(
        wid, number, batch_size, now, kind="resident", since_id=since
    )
    if upto is None:
        summary["deliveries"] = await tx.fanout.summary(wid, number)
    return summary


async def plan_next(services: Services, *, defer_for: Sequence[str] = ()) -> dict[str, Any] | None:
    """Process the oldest outbox row, if any; returns what was planned. An issued version
    takes two rows or more: its relays first (`plan_relays`), then its residents, a slice
    at a time. With `defer_for` (the urgent recipient kinds a worker whose one process
    also sends them: lanes.urgent_kinds(its lanes)), a residents' row waits while batches
    of those kinds made in the last `batch_requeue_seconds` are ready to go:
    `{"deferred": ...}` is returned and nothing is planned."""
    now = services.clock()
    with writers.urgent():  # SQLite: planning does not queue behind a fan-out's writes
        return await _plan_next(services, now, defer_for)


async def _plan_next(
    services: Services, now: datetime, defer_for: Sequence[str]
) -> dict[str, Any] | None:
    async with services.store.write() as tx:
        row = await tx.batches.claim_outbox(last=RESIDENTS_EVENT)  # relays before residents
        if row is None:
            return None
        if defer_for and row.event == RESIDENTS_EVENT:
            since = now - timedelta(seconds=services.settings.batch_requeue_seconds)
            if await tx.batches.fresh_ready(defer_for, since, now):
                return {"warning_id": row.warning_id, "version": row.version, "deferred": True}
        warning = (await tx.warnings.get(row.warning_id)).warning
        version = warning.version(row.version)
        settings = services.settings
        if version.state is not State.ISSUED:
            summary: dict[str, Any] = {"skipped": f"version is {version.state.value}"}
        elif row.event == RESIDENTS_EVENT:
            summary = await plan_residents(
                tx,
                warning,
                version,
                now,
                settings.batch_size,
                settings.plan_slice_residents,
                row.after_id,
            )
        else:
            summary = await plan_relays(tx, warning, version, now, settings.batch_size)
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
