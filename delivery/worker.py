"""Distributed mode, the working side: the Celery tasks and what each worker process holds.

Each worker process keeps one event loop, one set of provider clients (one HTTP session
each) and one database pool for its whole life, made on its first task (after a fork),
and runs every task's coroutine on that loop. The tasks call the functions the embedded
runner calls; a batch is held under a lease renewed per chunk.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from celery.signals import worker_process_shutdown, worker_shutdown
from redis.asyncio import Redis

from config.settings import Settings
from delivery import lanes
from delivery.adapters import Adapters, build_adapters
from delivery.batch import give_back, run_batch, send_due
from delivery.celery_app import PLAN, PLAN_RESIDENTS_PRIORITY, SEND_BATCH, SEND_DUE, celery
from delivery.dispatch import Queue, queue_batches
from delivery.fanout import RESIDENTS_EVENT, plan_next
from delivery.ratelimit import RedisRateLimiter
from ewb.bootstrap import build_services
from ewb.heap import freeze_startup_heap
from ewb.services import Services

log = logging.getLogger("ewb.delivery.worker")
T = TypeVar("T")
SEND_DUE_ROUNDS = 20  # batch-sized rounds of due retries per task, then the next task


@dataclass
class Worker:
    loop: asyncio.AbstractEventLoop
    services: Services
    adapters: Adapters
    limiter: RedisRateLimiter
    redis: Redis
    queue: Queue
    lanes: tuple[str, ...] = lanes.LANES  # the lanes whose queues this worker consumes

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def close(self) -> None:
        await self.queue.close()
        await self.adapters.close()
        await self.redis.aclose()
        await self.services.store.close()


_settings: Settings | None = None
_lanes: tuple[str, ...] = lanes.LANES
_worker: Worker | None = None


def use(settings: Settings, chosen: tuple[str, ...] = lanes.LANES) -> None:
    """The settings this process's worker will be built from, and the lanes it consumes
    (set by `ewb worker`)."""
    global _settings, _lanes
    _settings, _lanes = settings, chosen


def worker() -> Worker:
    """This process's worker, made on first use."""
    global _worker
    if _worker is None:
        if _settings is None:
            raise RuntimeError("delivery.worker.use(settings) was not called")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _worker = loop.run_until_complete(_build(loop, _settings))
        freeze_startup_heap()  # ewb/heap.py: short collector pauses while it sends
    return _worker


async def _build(loop: asyncio.AbstractEventLoop, settings: Settings) -> Worker:
    """Clients bound to this process's loop (aiohttp wants to be made inside it)."""
    services = build_services(settings)
    adapters = build_adapters(settings, services.clock)
    redis = Redis.from_url(settings.broker_url)
    limiter = RedisRateLimiter(redis, adapters.rates(settings))
    return Worker(loop, services, adapters, limiter, redis, Queue(celery), _lanes)


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close(**_: object) -> None:
    global _worker
    if _worker is not None:
        w, _worker = _worker, None
        w.run(w.close())
        w.loop.close()


async def plan_all(w: Worker) -> int:
    """Plan the issued versions waiting and queue their batches (after the commits). Once
    a version's relays are planned their batches are queued, and the residents' planning
    goes back to the queue behind them (celery_app.PLAN_RESIDENTS_PRIORITY): this worker
    sends the loudspeakers' package and the officers' messages first. So does each slice of
    the residents' planning but the last."""
    planned = 0
    # Waits only for urgent batches it will send itself: a worker without the officer lane
    # does not re-queue its planning until another worker took the officers' batches.
    defer_for = lanes.urgent_kinds(w.lanes)
    while (found := await plan_next(w.services, defer_for=defer_for)) is not None:
        if found.get("deferred"):  # this worker sends the urgent batches first
            await w.queue.send(PLAN, priority=PLAN_RESIDENTS_PRIORITY)
            return planned
        planned += 1
        relays = found.get("step") != RESIDENTS_EVENT
        if "skipped" not in found and (relays or "planned_upto" in found):
            # Relays planned, or a slice of residents with more to come: queue the
            # batches, and the rest of the planning behind them (a PLAN for a version
            # issued meanwhile comes first: its relays are planned before the next slice).
            await queue_batches(w.services, w.queue)
            await w.queue.send(PLAN, priority=PLAN_RESIDENTS_PRIORITY)
            return planned
    await queue_batches(w.services, w.queue)
    return planned


async def send_batch(w: Worker, batch_id: int) -> str:
    """Hold the batch (unless another live worker does, or it is finished) and send it; a
    batch that yielded to urgent work is queued again at once, behind that work."""
    services, lease = w.services, uuid.uuid4().hex
    now = services.clock()
    stale = now - timedelta(seconds=services.settings.batch_stale_seconds)
    async with services.store.write() as tx:
        batch = await tx.batches.take(batch_id, lease, now, stale)
    if batch is None:
        return "skipped"  # done, cancelled, or held by a live worker: a repeated message
    try:
        outcome = await run_batch(services, w.adapters, w.limiter, batch, lease)
    except Exception:
        log.exception("batch %s failed; it will be queued again", batch_id)
        await give_back(services, batch)
        return "failed"
    if outcome == "yielded":
        await queue_batches(services, w.queue)
    return outcome


async def send_due_rounds(w: Worker, lane: str | None) -> int:
    sent = 0
    for _ in range(SEND_DUE_ROUNDS):
        claimed = await send_due(w.services, w.adapters, w.limiter, lane)
        if not claimed:
            break
        sent += claimed
    return sent


@celery.task(name=PLAN)
def plan_task() -> int:
    w = worker()
    return w.run(plan_all(w))


@celery.task(name=SEND_BATCH)
def send_batch_task(batch_id: int) -> str:
    w = worker()
    return w.run(send_batch(w, batch_id))


@celery.task(name=SEND_DUE)
def send_due_task(lane: str | None = None) -> int:
    w = worker()
    return w.run(send_due_rounds(w, lane))
