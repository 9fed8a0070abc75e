"""From an `issued` outbox row to a version's deliveries and batches, in one transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ewb.services import Services
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

RELAY = 1  # officers and terminals go before the residents of the same grade


def priority(version: Version, relay: bool) -> int:
    """Red before orange before yellow before blue; relays first within a grade."""
    return version.grade.rank * 10 + (RELAY if relay else 0)


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


async def plan_version(
    tx: Tx, warning: Warning, version: Version, now: datetime, batch_size: int
) -> dict[str, Any]:
    """Insert the version's deliveries set-based and cut them into batches."""
    assert warning.id is not None
    rules = await tx.rules()
    wid, number = warning.id, version.number
    summary: dict[str, Any] = {"cancelled_earlier": await tx.fanout.cancel_older(wid, number, now)}
    if version.is_cancel:
        # An all-clear goes to those who were sent the warning, and to the loudspeakers.
        await tx.fanout.add_previous(wid, number, priority(version, False), now)
    else:
        spec = spec_for(version, rules.catalog)
        await tx.fanout.add_planned(wid, number, spec, priority(version, False), now)
        if version.mode is not Mode.TEST:
            await tx.fanout.add_rows(
                _officer_rows(await tx.users.officers(), warning, version, rules, now)
            )
        if number > 1:  # those an earlier version reached (and not planned above) hear too
            await tx.fanout.add_previous(wid, number, priority(version, False), now)
    if version.mode is Mode.ACTUAL:  # loudspeakers are public: no exercise on them
        await tx.fanout.add_terminals(wid, number, version.areas, priority(version, True), now)
    await tx.fanout.queue_events(wid, number, now)
    summary["batches"] = await tx.fanout.make_batches(wid, number, batch_size, now)
    summary["deliveries"] = await tx.fanout.summary(wid, number)
    return summary


async def plan_next(services: Services) -> dict[str, Any] | None:
    """Process the oldest outbox row, if any; returns what was planned."""
    now = services.clock()
    async with services.store.write() as tx:
        row = await tx.batches.claim_outbox()
        if row is None:
            return None
        warning = (await tx.warnings.get(row.warning_id)).warning
        version = warning.version(row.version)
        if version.state is not State.ISSUED:
            summary: dict[str, Any] = {"skipped": f"version is {version.state.value}"}
        else:
            summary = await plan_version(tx, warning, version, now, services.settings.batch_size)
        await tx.batches.finish_outbox(row.id, summary, services.clock())
    planned = sum(
        n for per_kind in summary.get("deliveries", {}).values() for n in per_kind.values()
    )
    if planned >= ANALYZE_AFTER:
        async with services.store.write() as tx:  # the batches' queries plan on fresh figures
            await tx.analyze(deliveries, delivery_events)
    log.info("planned warning %s v%s: %s", row.warning_id, row.version, summary)
    return {"warning_id": row.warning_id, "version": row.version, **summary}
