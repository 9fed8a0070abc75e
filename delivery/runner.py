"""The embedded runner: inside `ewb serve`, turns outbox rows into sends, most urgent first.

One loop plans issued versions, starts up to `runner_batches` batches at once (red before
blue, relays before residents), and sweeps due retries and fallbacks. On start it
recovers what a crash left behind. The distributed mode runs the same steps in Celery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from delivery.adapters import Adapters
from delivery.batch import give_back, run_batch, send_or_release
from delivery.fanout import plan_next
from delivery.ratelimit import Limiter
from ewb.services import Services
from store.batches import BatchRow

log = logging.getLogger("ewb.delivery.runner")


class Runner:
    def __init__(self, services: Services, adapters: Adapters, limiter: Limiter) -> None:
        self.services, self.adapters, self.limiter = services, adapters, limiter
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for work now (a version was just issued)."""
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def recover(self) -> tuple[int, int]:
        """What a crash left: running batches run again; deliveries caught `sending` are
        sent again and marked `resent_after_crash`. Only the one embedded runner may."""
        async with self.services.store.write() as tx:
            batches, sending = await tx.batches.recover(self.services.clock())
        if batches or sending:
            log.warning(
                "recovered after a crash: %d batches run again, %d deliveries that"
                " were being sent are sent again (resent_after_crash)",
                batches,
                sending,
            )
        return batches, sending

    async def run(self) -> None:
        """Forever: recover, then plan, send and sweep whenever there is work."""
        await self.recover()
        poll = self.services.settings.runner_poll_seconds
        while True:
            try:
                worked = await self.step()
            except Exception:
                log.exception("delivery runner step failed")
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll)
                self._wake.clear()

    async def step(self) -> bool:
        """One round: plan every issued version waiting (so priorities compare across all
        of them), then start batches and retries while slots are free."""
        worked = False
        while await plan_next(self.services) is not None:
            worked = True
        slots = self.services.settings.runner_batches
        while len(self._tasks) < slots:
            async with self.services.store.write() as tx:
                batch = await tx.batches.claim_batch(self.services.clock())
            if batch is None:
                break
            self._spawn(self.run_batch(batch))
            worked = True
        if len(self._tasks) < slots:
            async with self.services.store.write() as tx:
                due = await tx.batches.claim_due(
                    self.services.settings.batch_size, self.services.clock()
                )
            if due:
                self._spawn(send_or_release(self.services, self.adapters, self.limiter, due))
                worked = True
        return worked

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a slot is free

    async def run_batch(self, batch: BatchRow) -> None:
        try:
            await run_batch(self.services, self.adapters, self.limiter, batch)
        except Exception:
            log.exception("batch %s failed; it will run again", batch.id)
            await give_back(self.services, batch)

    async def settle(self) -> None:
        """Wait for the work already started (none is started meanwhile)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Until no work is left (tests and benchmarks; the server runs `run`)."""
        while await self.step() or self._tasks:
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
