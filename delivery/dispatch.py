"""Distributed mode, the enqueueing side: after a commit, hand work to the Celery workers.

Nothing is enqueued before the transaction that created the work commits; a message lost
on the way (a crash between commit and send, a Redis that restarted empty) is found again
by the sweep, because the work itself lives in the database.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from celery import Celery

from delivery import lanes
from delivery.celery_app import (
    PLAN,
    PLAN_QUEUE,
    PLAN_RELAYS_PRIORITY,
    PLAN_RESIDENTS_PRIORITY,
    SEND_BATCH,
    SEND_DUE,
)
from delivery.fanout import RESIDENTS_EVENT
from ewb.services import Services

log = logging.getLogger("ewb.delivery.dispatch")
QUEUE_AT_ONCE = 1000  # batches queued per sweep


class Queue:
    """Sends task messages without blocking the event loop (kombu's client is blocking)."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self._pending: set[asyncio.Task[None]] = set()

    async def send(
        self,
        name: str,
        args: tuple[object, ...] = (),
        priority: int = 0,
        queue: str = PLAN_QUEUE,
    ) -> None:
        await asyncio.to_thread(self.app.send_task, name, args=args, priority=priority, queue=queue)

    def wake(self) -> None:
        """A version was issued (and committed): have a worker plan it now."""
        task = asyncio.get_running_loop().create_task(self._plan())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _plan(self) -> None:
        try:
            await self.send(PLAN, priority=PLAN_RELAYS_PRIORITY)
        except Exception:  # the sweep plans it a moment later
            log.exception("could not queue the planning task; the sweep will")

    async def close(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)


async def queue_batches(services: Services, queue: Queue) -> int:
    """Queue a task for every batch that needs one, most urgent first."""
    settings, now = services.settings, services.clock()
    async with services.store.write() as tx:
        found = await tx.batches.to_queue(
            now,
            now - timedelta(seconds=settings.batch_requeue_seconds),
            now - timedelta(seconds=settings.batch_stale_seconds),
            QUEUE_AT_ONCE,
        )
    for batch_id, priority, kind in found:
        lane = lanes.lane_of(kind)
        await queue.send(
            SEND_BATCH, (batch_id,), lanes.queue_priority(lane, priority), lanes.queue_name(lane)
        )
    return len(found)


async def sweep(services: Services, queue: Queue) -> dict[str, int]:
    """What `ewb scheduler` does every `sweep_seconds`: find work no message stands for."""
    settings, now = services.settings, services.clock()
    async with services.store.write() as tx:
        reset = await tx.batches.reset_stale_sending(
            now - timedelta(seconds=settings.batch_stale_seconds), now
        )
        unplanned = await tx.batches.outbox_waiting()
        due = await tx.batches.due_count(now)
    if reset:
        log.warning(
            "%d deliveries left `sending` by a worker that stopped are sent again"
            " (resent_after_crash)",
            reset,
        )
    if unplanned:  # a first step waiting goes first; the residents' after urgent batches
        relays_waiting = any(event != RESIDENTS_EVENT for event in unplanned)
        await queue.send(
            PLAN, priority=PLAN_RELAYS_PRIORITY if relays_waiting else PLAN_RESIDENTS_PRIORITY
        )
    queued = await queue_batches(services, queue)
    due_lanes = {lanes.lane_of(kind) for kind, count in due.items() if count}
    for lane in due_lanes:
        await queue.send(SEND_DUE, (lane,), lanes.due_priority(lane), lanes.queue_name(lane))
    return {
        "reset": reset,
        "unplanned": sum(unplanned.values()),
        "queued": queued,
        "due": sum(due.values()),
    }
