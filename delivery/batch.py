"""Sending one batch, and the due retries: the same functions in both run modes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from channels.base import SendResult
from delivery import lanes
from delivery.adapters import Adapters
from delivery.ratelimit import Limiter
from delivery.send import new_renderer, send_claimed
from ewb.services import Services
from store.batches import BatchRow
from store.db import Tx

log = logging.getLogger("ewb.delivery.batch")
FAILED_WORK_PAUSE = timedelta(seconds=30)
YIELD_CHECK_SECONDS = 0.2  # how often a resident batch sending its chunks looks for urgent work


async def run_batch(
    services: Services,
    adapters: Adapters,
    limiter: Limiter,
    batch: BatchRow,
    lease: str | None = None,
) -> str:
    """Send a batch a chunk at a time while its version is still the one in force.

    Each chunk is claimed (`sending`) before it is sent and recorded after, so a re-run
    skips what was recorded and re-sends only what was in flight. `chunks_in_flight`
    chunks are sent at once, so that storing one chunk's results overlaps the next one's
    sending. With a `lease` (the distributed mode) every chunk renews the hold and stops
    if another worker took over. A resident batch yields its slot as soon as more urgent work
    has waited `preempt_grace_seconds` (lanes.py; looked for before each chunk and every
    YIELD_CHECK_SECONDS while chunks are in flight): the messages already started finish,
    the rest of its claimed chunks go back unsent; a loudspeaker batch is one package, so it
    is claimed whole. Returns "done", "cancelled", "lost" or "yielded".
    """
    settings = services.settings
    lane = lanes.lane_of(batch.recipient_kind)
    # One EBM per package: the whole batch of terminals goes in one claim.
    size = batch.last_id - batch.first_id + 1 if lane == lanes.BROADCAST else settings.claim_chunk
    async with services.store.write() as tx:
        now = services.clock()
        resumed = await tx.batches.resume(batch, now)
        renderer = await new_renderer(tx, services, now)
    if resumed:
        log.warning(
            "batch %s: %d deliveries in flight when its last run stopped are sent again"
            " (resent_after_crash)",
            batch.id,
            resumed,
        )
    in_flight: set[asyncio.Task[list[SendResult]]] = set()
    # Set when the batch yields (before a chunk, or by the watcher while chunks are in
    # flight): the messages the adapters have not started yet stay unsent.
    stop = asyncio.Event()
    watcher = None
    if lane == lanes.RESIDENT:
        watcher = asyncio.create_task(_watch(services, batch, lease is not None, stop))
    try:
        while True:
            outcome = await _next_chunk(services, batch, lease, size)
            if isinstance(outcome, str):
                break
            in_flight.add(
                asyncio.create_task(
                    send_claimed(services, adapters, outcome, limiter, renderer, stop)
                )
            )
            if len(in_flight) >= settings.chunks_in_flight:
                in_flight = await _until_one_finishes(in_flight, stop)
                if stop.is_set():
                    outcome = "yielded"
                    break
        if outcome == "yielded":
            stop.set()
        elif outcome != "done" and watcher is not None:
            watcher.cancel()  # cancelled or lost: what is in flight just finishes
        while in_flight:
            finished, in_flight = await asyncio.wait(in_flight)
            for task in finished:
                task.result()
        if stop.is_set():  # yielded while its last chunks were sent: it resumes later
            outcome = "yielded"
    except Exception:
        # A chunk or a claim failed (a lost database connection): the batch fails, but
        # the chunks in flight first finish what they started and record it (the rest
        # is given back unsent), so what a provider took is not sent again.
        stop.set()
        await asyncio.gather(*in_flight, return_exceptions=True)
        in_flight = set()
        raise
    finally:
        leftover = [*in_flight, *([watcher] if watcher else [])]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)
    if outcome == "done":
        async with services.store.write() as tx:
            await tx.batches.set_state(batch.id, "done", services.clock())
    elif outcome == "yielded":
        async with services.store.write() as tx:
            await tx.batches.step_aside(batch.id, services.clock())
        log.info("batch %s yields its slot to more urgent work; it resumes later", batch.id)
    return outcome


async def _until_one_finishes(
    in_flight: set[asyncio.Task[list[SendResult]]], stop: asyncio.Event
) -> set[asyncio.Task[list[SendResult]]]:
    """Wait until a chunk finishes or the batch yields; the chunks still in flight."""
    yielding = asyncio.ensure_future(stop.wait())
    try:
        finished, _ = await asyncio.wait(
            in_flight | {yielding}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        yielding.cancel()
    for task in finished - {yielding}:
        task.result()  # a chunk that failed fails the batch
    return in_flight - finished


async def _watch(
    services: Services, batch: BatchRow, distributed: bool, stop: asyncio.Event
) -> None:
    """While a resident batch sends, look every YIELD_CHECK_SECONDS for more urgent work;
    when it waits, set `stop`: the messages the adapters have started finish, those not
    started yet go back to pending."""
    while not stop.is_set():
        await asyncio.sleep(YIELD_CHECK_SECONDS)
        async with services.store.read() as tx:
            if await _should_yield(services, tx, batch, distributed, services.clock()):
                stop.set()


async def _next_chunk(
    services: Services, batch: BatchRow, lease: str | None, size: int
) -> list[int] | str:
    """The next chunk's delivery ids, claimed; or why the batch stops here."""
    async with services.store.write() as tx:
        now = services.clock()
        if lease is not None and not await tx.batches.beat(batch.id, lease, now):
            log.warning("batch %s was taken over by another worker: stopping", batch.id)
            return "lost"
        if await tx.batches.version_state(batch.warning_id, batch.version) != "issued":
            cancelled = await tx.batches.cancel_batch(batch, now)
            log.info(
                "batch %s cancelled (version no longer in force): %d unsent",
                batch.id,
                cancelled,
            )
            return "cancelled"
        if await _should_yield(services, tx, batch, lease is not None, now):
            return "yielded"
        ids = await tx.batches.claim_in_batch(batch, size, now)
        return ids or "done"


async def _should_yield(
    services: Services, tx: Tx, batch: BatchRow, distributed: bool, now: datetime
) -> bool:
    """Only resident batches yield. Embedded, the urgent lanes have slots of their own, so
    a resident batch yields only to a higher-priority resident batch; in the distributed
    mode a worker's process is shared by every lane, so it also yields to urgent work."""
    if lanes.lane_of(batch.recipient_kind) != lanes.RESIDENT:
        return False
    grace = timedelta(seconds=services.settings.preempt_grace_seconds)
    urgent = lanes.urgent_kinds() if distributed else []
    return await tx.batches.more_urgent_waiting(
        batch.priority, lanes.kinds(lanes.RESIDENT), urgent, now - grace, now
    )


async def give_back(services: Services, batch: BatchRow) -> None:
    """A batch whose run failed is run again after a pause (not at once: a fault that
    repeats must not spin)."""
    async with services.store.write() as tx:
        await tx.batches.give_back(batch.id, services.clock() + FAILED_WORK_PAUSE)


async def send_due(
    services: Services, adapters: Adapters, limiter: Limiter, lane: str | None = None
) -> int:
    """Send one batch-sized set of due retries and fallbacks (of one lane); how many."""
    kinds = lanes.kinds(lane) if lane is not None else None
    async with services.store.write() as tx:
        ids = await tx.batches.claim_due(services.settings.batch_size, services.clock(), kinds)
    if ids:
        await send_or_release(services, adapters, limiter, ids)
    return len(ids)


async def send_or_release(
    services: Services, adapters: Adapters, limiter: Limiter, ids: list[int]
) -> None:
    """Send claimed deliveries; if that fails outright they are due again a little later."""
    try:
        await send_claimed(services, adapters, ids, limiter)
    except Exception:
        log.exception("sending %d due deliveries failed; they come back later", len(ids))
        async with services.store.write() as tx:
            await tx.batches.release(ids, services.clock() + FAILED_WORK_PAUSE)
