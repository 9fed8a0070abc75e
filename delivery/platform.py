"""What the broadcast platform reports, applied to ewb's records (one transaction each).

- An EBMStateResponse is kept (`broadcast_states`, with its coverage rate and areas) and
  applied to every loudspeaker delivery of that EBM, terminal by terminal (a terminal's own
  line in ResBrdInfo, else the EBM's state): 3 播发成功 records `played` (the broadcast
  credit of coverage), 4 播发失败 records `failed` (`playback-failed`), once each. 5 播发取消
  is kept but changes no delivery: a cancelled broadcast neither reached nor failed anyone.
  States 0–2 are progress and only kept.
- An EBRDTState report sets each named terminal's status: running, recovered or
  broadcasting is `online`, off or fault is `offline`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from channels.ebd_state import FAILED, PLAYED, BroadcastState, DeviceState
from store.db import Tx
from store.deliveries import Delivery
from store.platform import StateRow

log = logging.getLogger("ewb.delivery.platform")


async def record_state(tx: Tx, state: BroadcastState, now: datetime) -> dict[str, int]:
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
    return counts


async def record_devices(tx: Tx, states: list[DeviceState], now: datetime) -> list[str]:
    """Terminal statuses from the platform; the ids of the terminals ewb knows."""
    by_endpoint = {s.ebrid: "online" if s.online else "offline" for s in states}
    return await tx.terminals.set_status(by_endpoint, now)
