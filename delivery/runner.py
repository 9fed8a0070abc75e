"""The embedded runner: inside `ewb serve`, turns outbox rows into sends, most urgent first.

One loop plans issued versions (a version's relays, then its residents a slice at a time,
the relays of a version issued meanwhile between two slices) and, in each urgency lane
(lanes.py), starts batches while the lane has free slots (most urgent first) and sends
its due retries and fallbacks:
loudspeakers and officers in `runner_urgent_batches` slots each, residents in
`runner_batches`. On start it recovers what a crash left behind. The distributed mode runs
the same steps in Celery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from delivery import lanes
from delivery.adapters import Adapters
from delivery.batch import give_back, run_batch, send_or_release
from delivery.fanout import RESIDENTS_EVENT, plan_next
from delivery.ratelimit import Limiter
from ewb.services import Services
from store import writers
from store.batches import BatchRow

log = logging.getLogger("ewb.delivery.runner")

# The longest the residents' planning waits for the loudspeaker packages just started (one
# package each; with speech, espeak-ng's time too).
LOUDSPEAKERS_FIRST_SECONDS = 5.0


class Runner:
    def __init__(self, services: Services, adapters: Adapters, limiter: Limiter) -> None:
        self.services, self.adapters, self.limiter = services, adapters, limiter
        self._wake = asyncio.Event()
        self._lanes: dict[str, set[asyncio.Task[None]]] = {lane: set() for lane in lanes.LANES}
        self.looped_at: float | None = None  # loop.time() of its last round (for /readyz)

    def wake(self) -> None:
        """Look for work now (a version was just issued)."""
        self._wake.set()

    @property
    def _tasks(self) -> set[asyncio.Task[None]]:
        return set().union(*self._lanes.values())

    @property
    def busy(self) -> int:
        return len(self._tasks)

    def slots(self, lane: str) -> int:
        settings = self.services.settings
        return settings.runner_batches if lane == lanes.RESIDENT else settings.runner_urgent_batches

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
            self.looped_at = asyncio.get_running_loop().time()
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
        of them), then in every lane start batches and retries while its slots are free.
        Its own writes (claims) are short and go first on SQLite, so that a round never
        waits behind a fan-out's writes before it plans an urgent warning."""
        with writers.urgent():
            return await self._step()

    async def _step(self) -> bool:
        worked = False
        while (found := await plan_next(self.services)) is not None:
            worked = True
            if found.get("step") == RESIDENTS_EVENT:
                if "planned_upto" in found:  # a slice of a long planning: its batches start
                    await self._fill(lanes.RESIDENT)  # (the more urgent pre-empt them)
                continue
            for lane in lanes.URGENT:  # relays go out before the residents are planned
                await self._fill(lane)
            await self._loudspeakers_first()
        for lane in lanes.LANES:
            worked = await self._fill(lane) or worked
        return worked

    async def _loudspeakers_first(self) -> None:
        """Let the loudspeaker batches just started send before the residents are planned:
        on SQLite a county's resident planning holds the one write lock for seconds, and
        every step of a batch (claim, record) needs it."""
        started = self._lanes[lanes.BROADCAST]
        if started:
            await asyncio.wait(set(started), timeout=LOUDSPEAKERS_FIRST_SECONDS)

    async def _fill(self, lane: str) -> bool:
        running, slots, kinds = self._lanes[lane], self.slots(lane), lanes.kinds(lane)
        worked = False
        while len(running) < slots:
            async with self.services.store.write() as tx:
                batch = await tx.batches.claim_batch(self.services.clock(), kinds)
            if batch is None:
                break
            self._spawn(lane, self.run_batch(batch))
            worked = True
        if len(running) < slots:
            async with self.services.store.write() as tx:
                due = await tx.batches.claim_due(
                    self.services.settings.batch_size, self.services.clock(), kinds
                )
            if due:
                self._spawn(lane, send_or_release(self.services, self.adapters, self.limiter, due))
                worked = True
        return worked

    def _spawn(self, lane: str, work: Awaitable[None]) -> None:
        with writers.urgent(lane in lanes.URGENT):  # SQLite: its writes go first (the task
            task = asyncio.ensure_future(work)  # keeps the context it was made in)
        self._lanes[lane].add(task)
        task.add_done_callback(lambda done: self._done(lane, done))

    def _done(self, lane: str, task: asyncio.Task[None]) -> None:
        self._lanes[lane].discard(task)
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
        tasks = self._tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
