"""What the broadcast platform reports, applied to ewb's records (one transaction each).

- An EBMStateResponse is kept (`broadcast_states`, with its coverage rate and areas) and
  applied to every loudspeaker delivery of that EBM, terminal by terminal (a terminal's own
  line in ResBrdInfo, else the EBM's state): 3 播发成功 records `played` (the broadcast
  credit of coverage), 4 播发失败 records `failed` (`playback-failed`), once each, and for a
  version's first play the villages of the failed terminals get the gap actions at once
  (reach/gaps.py `act_on_failed`: played again, officers asked to relay). 5 播发取消
  is kept but changes no delivery: a cancelled broadcast neither reached nor failed anyone.
  States 0–2 are progress and only kept.
- An EBRDTState report sets each named terminal's status: running, recovered or
  broadcasting is `online`, off or fault is `offline`. An offline terminal's plays that
  are not yet confirmed fail at once, with the same gap actions as a reported failure.

Two timers keep ewb hearing the platform (delivery/scheduler.py runs them): every
`broadcast_state_poll_seconds` an EBMStateRequest for each EBM accepted at least that long
ago (within the last day) whose playback no report has settled; every
`broadcast_heartbeat_seconds` a ConnectionCheck. `MISSED_ALERT` beats in a row without an
answer put an alert on the live page. While the platform is down its deliveries stay
unconfirmed: no report, no broadcast credit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from channels.broadcast_link import PlatformLink
from channels.ebd_state import FAILED, PLAYED, BroadcastState, DeviceState
from ewb.services import Services
from reach.gaps import act_on_failed
from store.db import Tx
from store.deliveries import Delivery
from store.platform import Link, StateRow

log = logging.getLogger("ewb.delivery.platform")

MISSED_ALERT = 3  # heartbeats in a row without an answer: the platform is down
POLL_BATCH = 100  # state requests per round at most
POLL_WINDOW = timedelta(days=1)  # older EBMs are not asked about any more


def is_down(link: Link) -> bool:
    """The platform missed MISSED_ALERT heartbeats in a row (the console's alert, and
    `ewb broadcast status` exits 1)."""
    return link.missed >= MISSED_ALERT


async def record_state(
    tx: Tx, state: BroadcastState, now: datetime, batch_size: int
) -> dict[str, int]:
    """Keep the report and apply it; how many deliveries were marked played and failed."""
    await tx.platform.add_state(
        StateRow(
            state.ebm_id,
            state.code,
            state.desc,
            state.coverage_rate,
            state.coverage_areas,
            state.reported,
            now,
        )
    )
    counts = {"played": 0, "failed": 0, "unknown": 0}
    newest: dict[str, Delivery] = {}  # in id order: a re-used EBMID (a cancel) reaches a
    for d in await tx.deliveries.by_provider_id(state.ebm_id, lock=True):  # terminal twice
        if d.channel == "broadcast":
            newest[d.address] = d
    if not newest:
        counts["unknown"] = 1
        log.warning("state report for unknown EBM %s kept, nothing to apply", state.ebm_id)
        return counts
    at = state.reported or now
    first_plays_failed: list[Delivery] = []
    for endpoint, delivery in newest.items():
        code = state.state_at(endpoint)
        delivery_id = delivery.id
        if code == PLAYED and not await tx.deliveries.has_event(delivery_id, "played"):
            await tx.deliveries.append(delivery_id, "played", at, "ebm-state-3", state.desc)
            counts["played"] += 1
        elif code == FAILED and not await tx.deliveries.has_event(delivery_id, "failed"):
            detail = state.desc or "播发失败"
            await tx.deliveries.append(delivery_id, "failed", at, "playback-failed", detail)
            counts["failed"] += 1
            if delivery.repeat == 0:
                first_plays_failed.append(delivery)
    await _act_on_failures(tx, first_plays_failed, now, batch_size)
    return counts


async def _act_on_failures(tx: Tx, failed: list[Delivery], now: datetime, batch_size: int) -> None:
    areas_of = await tx.terminals.areas_of([d.recipient_id for d in failed])
    by_version: dict[tuple[int, int], set[str]] = {}
    for d in failed:
        if d.recipient_id in areas_of:
            by_version.setdefault((d.warning_id, d.version), set()).add(areas_of[d.recipient_id])
    for (warning_id, number), areas in by_version.items():
        await act_on_failed(tx, warning_id, number, areas, now, batch_size)


async def record_devices(
    tx: Tx, states: list[DeviceState], now: datetime, batch_size: int
) -> list[str]:
    """Terminal statuses from the platform; the ids of the terminals ewb knows. A terminal
    reported off or faulty cannot play what it was sent and has not yet played: those
    deliveries fail at once (`terminal-offline`), and for a version's first play their
    villages get the gap actions now, not after `gap_check_minutes`."""
    up = await tx.terminals.set_status({s.ebrid: "online" for s in states if s.online}, now)
    down = await tx.terminals.set_status({s.ebrid: "offline" for s in states if not s.online}, now)
    first_plays_failed = []
    for delivery in await tx.deliveries.unconfirmed_plays(down):
        detail = "终端离线或故障 (EBRDTState)"
        await tx.deliveries.append(delivery.id, "failed", now, "terminal-offline", detail)
        if delivery.repeat == 0:
            first_plays_failed.append(delivery)
    if first_plays_failed:
        log.warning(
            "%d loudspeaker plays failed: their terminals went offline", len(first_plays_failed)
        )
    await _act_on_failures(tx, first_plays_failed, now, batch_size)
    return up + down


async def poll_states(services: Services, link: PlatformLink) -> int:
    """Ask for the state of every EBM still unconfirmed after the poll interval; how many
    requests the platform took (its answer comes as a report to the ebd webhook)."""
    now = services.clock()
    waited = timedelta(seconds=services.settings.broadcast_state_poll_seconds)
    async with services.store.read() as tx:
        ebms = await tx.platform.unconfirmed(now - waited, now - POLL_WINDOW, POLL_BATCH)
    taken = 0
    for ebm_id in ebms:
        async with services.store.write() as tx:
            sequence = await tx.next_sequence("ebd")
        code = await link.ask_state(ebm_id, sequence)
        if code == 1:
            taken += 1
        else:
            log.warning("state request for EBM %s not taken (ResultCode %s)", ebm_id, code)
    return taken


async def heartbeat(services: Services, link: PlatformLink) -> Link:
    """One ConnectionCheck; the link to the platform after it."""
    answered = await link.heartbeat() == 1
    async with services.store.write() as tx:
        state = await tx.platform.beat(services.clock(), answered)
    if state.missed == MISSED_ALERT:
        log.error(
            "the broadcast platform has not answered %d heartbeats (last answer %s)",
            state.missed,
            state.last_answer_at,
        )
    elif answered and state.missed == 0:
        log.debug("platform heartbeat answered")
    return state
