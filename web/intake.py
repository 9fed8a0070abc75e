"""Status callbacks taken in: stored before they are answered, many in one transaction.

A provider calls back once per status of every message, tens of thousands in a county's
fan-out, and Twilio does not call again if the answer is slow or an error. So a handler
only hands its callback to the intake and waits for it to be stored; the intake writes
every callback that arrived meanwhile in one transaction (a group commit: one write per
round instead of one per callback, which matters on SQLite's one writer), and the receipts
loop (delivery/receipts.py) applies them after. A database outage is waited out, with
back-off, for `callback_store_seconds`; then the callbacks of that round are answered 503
(StoreUnavailable), never 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from store.callbacks import Callback
from store.db import Store
from store.outage import StoreUnavailable, retried

log = logging.getLogger("ewb.web.intake")

ROUND = 1000  # the most callbacks stored in one transaction


class Intake:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        patience: float,
        stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.clock, self.patience, self._stored = store, clock, patience, stored
        self._waiting: list[tuple[tuple[str, str, str, str | None], asyncio.Future[None]]] = []
        self._arrived = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Store what is waiting, then stop (never cancelled inside a transaction)."""
        self._closing = True
        self._arrived.set()
        if self._task is not None:
            await self._task

    async def take(self, provider: str, provider_id: str, status: str, error: str | None) -> None:
        """Return once the callback is stored (StoreUnavailable if it could not be)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append(((provider, provider_id, status, error), done))
        self._arrived.set()
        # Shielded: a caller that hangs up does not undo the round its callback is in.
        await asyncio.shield(done)

    async def _run(self) -> None:
        while not self._closing:
            await self._arrived.wait()
            self._arrived.clear()
            while self._waiting:
                await self._round()

    async def _round(self) -> None:
        taken, self._waiting = self._waiting[:ROUND], self._waiting[ROUND:]
        now = self.clock()  # one time for the round: the reach counts group by it
        callbacks = [Callback(*fields, received_at=now) for fields, _ in taken]
        try:
            await self._store(callbacks)
        except StoreUnavailable as unavailable:
            outcome: BaseException | None = unavailable
        except Exception as error:  # a fault of ours: answered 503 too, and logged
            log.exception("storing %d status callbacks failed", len(callbacks))
            outcome = StoreUnavailable(type(error).__name__)
        else:
            outcome = None
            self._stored()
        for _, done in taken:
            if done.done():
                continue
            if outcome is None:
                done.set_result(None)
            else:
                done.set_exception(outcome)

    async def _store(self, callbacks: list[Callback]) -> None:
        async def store() -> None:
            async with self.store.write() as tx:
                await tx.callbacks.add(callbacks)

        await retried(store, self.patience, f"storing {len(callbacks)} status callbacks")
