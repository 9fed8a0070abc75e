"""Sending one batch, and the due retries: the same functions in both run modes."""

from __future__ import annotations

import logging
from datetime import timedelta

from delivery.adapters import Adapters
from delivery.ratelimit import Limiter
from delivery.send import send_claimed
from ewb.services import Services
from store.batches import BatchRow

log = logging.getLogger("ewb.delivery.batch")
FAILED_WORK_PAUSE = timedelta(seconds=30)


async def run_batch(
    services: Services,
    adapters: Adapters,
    limiter: Limiter,
    batch: BatchRow,
    lease: str | None = None,
) -> str:
    """Send a batch a chunk at a time while its version is still the one in force.

    Each chunk is claimed (`sending`) before it is sent and recorded after, so a re-run
    skips what was recorded and re-sends only what was in flight. With a `lease` (the
    distributed mode) every chunk renews the hold and stops if another worker took over.
    Returns "done", "cancelled" or "lost".
    """
    chunk = services.settings.claim_chunk
    while True:
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
            ids = await tx.batches.claim_in_batch(batch, chunk, now)
            if not ids:
                await tx.batches.set_state(batch.id, "done", now)
                return "done"
        await send_claimed(services, adapters, ids, limiter)


async def give_back(services: Services, batch: BatchRow) -> None:
    """A batch whose run failed is run again after a pause (not at once: a fault that
    repeats must not spin)."""
    async with services.store.write() as tx:
        await tx.batches.give_back(batch.id, services.clock() + FAILED_WORK_PAUSE)


async def send_due(services: Services, adapters: Adapters, limiter: Limiter) -> int:
    """Send one batch-sized set of due retries and fallbacks; how many were claimed."""
    async with services.store.write() as tx:
        ids = await tx.batches.claim_due(services.settings.batch_size, services.clock())
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
