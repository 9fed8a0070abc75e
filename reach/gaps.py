"""Acting on gaps: `gap_check_minutes` after a red or orange warning is issued, every
targeted village below the 95 % target is played the warning again on its loudspeakers,
and its officers are sent its unreachable residents with the request to relay. Once per
version; each action is an audit entry (actor `system`).

A loudspeaker the platform reports failed (delivery/platform.py) does not wait for that
check: its villages below target get the same two actions at once (`act_on_failed`,
audited `gaps.playback_failed`), for the first play of a version only, so a terminal that
keeps failing is not played again and again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from delivery.fanout import priority
from ewb.services import Services
from reach.report import Report, build
from store.db import Tx
from subscribers.officers import serves
from warning.actors import SYSTEM
from warning.areas import AreaTree
from warning.model import Mode, State, Version

log = logging.getLogger("ewb.reach.gaps")


class Waker(Protocol):
    def wake(self) -> None:
        """There is new work for the senders."""


async def check_gaps(services: Services, waker: Waker) -> int:
    """Check every version due; returns how many were checked."""
    minutes = services.settings.gap_check_minutes
    if not minutes:
        return 0
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.timers.gap_checks_due(now - timedelta(minutes=minutes))
    checked = 0
    for warning_id, number in due:
        if await check_version(services, waker, warning_id, number):
            checked += 1
    return checked


async def check_version(services: Services, waker: Waker, warning_id: int, number: int) -> bool:
    """Check one version now (unless it was checked already, or has ended) and act on
    its gaps; True if it was checked. `ewb demo` calls this without waiting."""
    now = services.clock()
    async with services.store.write() as tx:
        if not await tx.timers.claim_gap_check(warning_id, number, now):
            return False  # another run did it
        version = (await tx.warnings.get(warning_id)).warning.version(number)
        if version.state is not State.ISSUED:
            return False
        acted = await _act(tx, warning_id, version, now, services.settings.batch_size)
    if acted:
        waker.wake()
    return True


async def _act(tx: Tx, warning_id: int, version: Version, now: datetime, batch_size: int) -> bool:
    warning = (await tx.warnings.get(warning_id)).warning
    tree = await tx.areas.tree()
    report = await build(tx, warning, version, tree, now)
    await tx.timers.set_gaps_found(warning_id, version.number, len(report.gaps))
    codes = [g.area.code for g in report.gaps]
    await _audit(
        tx,
        warning_id,
        version,
        now,
        "gaps.check",
        {
            "estimated": round(report.county.estimated, 4),
            "areas_below_target": codes,
        },
    )
    if not codes:
        log.info("warning %s v%s: every area meets the target", warning_id, version.number)
        return False
    rebroadcast = await _rebroadcast(tx, warning_id, version, codes, now, batch_size)
    if rebroadcast:
        await _audit(tx, warning_id, version, now, "gaps.rebroadcast", rebroadcast)
    told = await _tell_officers(tx, warning_id, version, report, tree, now)
    for username, areas in told.items():
        await _audit(
            tx,
            warning_id,
            version,
            now,
            "gaps.relay_request",
            {"officer": username, "areas": areas},
        )
    log.warning(
        "warning %s v%s: %d area(s) below target %s: loudspeakers played again in %s,"
        " relay requested from %s",
        warning_id,
        version.number,
        len(codes),
        codes,
        rebroadcast.get("areas", []) if rebroadcast else [],
        sorted(told),
    )
    return bool(rebroadcast or told)


async def act_on_failed(
    tx: Tx, warning_id: int, number: int, areas: set[str], now: datetime, batch_size: int
) -> bool:
    """Terminals in `areas` failed to play the version (its first play): every targeted
    village there below target is played again and its officers asked to relay, now, for
    red and orange actual warnings in force; True if anything was done. The senders find
    the new work on their next look (`runner_poll_seconds`, or the sweep)."""
    warning = (await tx.warnings.get(warning_id)).warning
    version = warning.version(number)
    if not _gap_checked(version):
        return False
    tree = await tx.areas.tree()
    report = await build(tx, warning, version, tree, now)
    gaps = [g for g in report.gaps if serves(areas, [g.area.code], tree)]
    if not gaps:
        return False
    codes = [g.area.code for g in gaps]
    rebroadcast = await _rebroadcast(tx, warning_id, version, codes, now, batch_size)
    told = await _tell_officers(tx, warning_id, version, replace(report, gaps=gaps), tree, now)
    await _audit(
        tx,
        warning_id,
        version,
        now,
        "gaps.playback_failed",
        {"areas_below_target": codes, "rebroadcast": rebroadcast, "relay_requested": told},
    )
    log.warning(
        "warning %s v%s: loudspeakers failed in %s: played again, relay asked of %s",
        warning_id,
        number,
        codes,
        sorted(told),
    )
    return bool(rebroadcast or told)


def _gap_checked(version: Version) -> bool:
    """The versions whose gaps are acted on (as store.timers.gap_checks_due selects)."""
    return (
        version.state is State.ISSUED
        and version.grade.value in ("red", "orange")
        and version.mode is Mode.ACTUAL
        and not version.is_cancel
    )


async def _rebroadcast(
    tx: Tx, warning_id: int, version: Version, codes: list[str], now: datetime, batch_size: int
) -> dict[str, object]:
    """The version's loudspeakers in these areas that are online play it again: a new
    repeat (an offline or faulty one would only fail again)."""
    repeat = await tx.timers.next_terminal_repeat(warning_id, version.number)
    added = await tx.fanout.add_terminals(
        warning_id, version.number, codes, priority(version, True), now, repeat, online_only=True
    )
    if not added:
        return {}
    await tx.fanout.queue_events(warning_id, version.number, now, repeat, "terminal")
    await tx.fanout.make_batches(warning_id, version.number, batch_size, now, repeat, "terminal")
    areas = sorted({t.terminal.area_code for t in await tx.terminals.under(codes)})
    return {"areas": areas, "terminals": added, "repeat": repeat}


async def _tell_officers(
    tx: Tx,
    warning_id: int,
    version: Version,
    report: Report,
    tree: AreaTree,
    now: datetime,
) -> dict[str, list[str]]:
    """One message to each officer serving gap areas (WeCom, else SMS); {username: areas}."""
    told: dict[str, list[str]] = {}
    for officer in await tx.users.officers():
        theirs = {
            g.area.code: round(g.area.estimated, 4)
            for g in report.gaps
            if serves(officer.areas, [g.area.code], tree)
        }
        channel, address = (
            ("wecom", officer.wecom_id) if officer.wecom_id else ("sms", officer.phone or "")
        )
        if not theirs or not address:
            continue
        await tx.timers.add_gap_message(
            warning_id,
            version.number,
            officer.username,
            channel,
            address,
            priority(version, True),
            theirs,
            now,
        )
        told[officer.username] = sorted(theirs)
    return told


async def _audit(
    tx: Tx,
    warning_id: int,
    version: Version,
    now: datetime,
    action: str,
    details: dict[str, object],
) -> None:
    await tx.audit.append(
        at=now,
        actor=SYSTEM.username,
        action=action,
        warning_id=warning_id,
        version=version.number,
        outcome="ok",
        details=details,
    )
