"""Stored status callbacks applied to their deliveries, hundreds per transaction.

The webhook only stores a callback (web/intake.py); this loop, in the same `ewb serve`
process, reads the stored ones whose message's send result is stored too, and records
them: one event per new status, the delivery's state moved (never backwards), and for a
permanent failure the person's next channel queued (delivery/fallback.py). A callback is
recorded once however often it arrives (its MessageSid and status tell a replay), and a
failure reported after the message was delivered, or after it already fell back, queues
nothing. One that arrived before its send's result is stored waits for it up to
`callback_match_seconds`, then is set aside as `unknown`. Rows are stamped, never deleted:
`provider_callbacks` is the raw record of what the provider said and when.

On PostgreSQL several `ewb serve` processes may run this loop; each takes callbacks the
others do not hold (SKIP LOCKED). What a crash leaves unapplied is applied on the next
start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from channels.sms import event_for_status
from delivery.fallback import fall_back
from ewb.services import Services
from store.callbacks import Callback
from store.db import Tx
from store.deliveries import Delivery, Event, NewEvent
from store.outage import OUTAGE

log = logging.getLogger("ewb.delivery.receipts")

TWILIO = "twilio"
CHUNK = 500  # callbacks applied in one transaction
POLL_SECONDS = 1.0  # a callback waiting for its send's result is looked at again this often
# A delivery in one of these states was delivered, fell back already, or was replaced by a
# newer version: a carrier failure reported for it now queues nothing. Its `failed`
# events do not say so: a retryable answer (a 500 or 429 before the message was accepted)
# is recorded as a `failed` event too, and that attempt's person still needs their message.
SETTLED = ("delivered", "failed", "cancelled")


@dataclass
class Applied:
    callbacks: int = 0  # stored callbacks taken (each now has its outcome)
    fell_back: int = 0  # next channels queued


async def apply_twilio(services: Services, limit: int = CHUNK) -> Applied:
    """Apply up to `limit` stored Twilio status callbacks, in one transaction."""
    now = services.clock()
    given_up = now - timedelta(seconds=services.settings.callback_match_seconds)
    async with services.store.read() as tx:  # most rounds: none waiting, and no write
        if not await tx.callbacks.waiting():
            return Applied()
    async with services.store.write() as tx:
        callbacks = await tx.callbacks.ready(TWILIO, given_up, limit)
        if not callbacks:
            return Applied()
        done = await _apply(tx, callbacks)
        fell_back = 0
        for delivery in done.failed:
            if await fall_back(tx, delivery, now) is not None:
                fell_back += 1
        await tx.callbacks.processed(done.outcomes, now)
    return Applied(len(callbacks), fell_back)


@dataclass
class _Round:
    outcomes: dict[int, str] = field(default_factory=dict)  # callback id → outcome
    rows: list[NewEvent] = field(default_factory=list)  # the events to append
    failed: list[Delivery] = field(default_factory=list)  # to fall back
    settled: dict[int, str] = field(default_factory=dict)  # delivery id → state this round


async def _apply(tx: Tx, callbacks: list[Callback]) -> _Round:
    found = await tx.deliveries.by_provider_ids([c.provider_id for c in callbacks], "sms")
    history = await tx.deliveries.events_of([d.id for ds in found.values() for d in ds])
    done = _Round()
    for c in callbacks:
        done.outcomes[c.id] = _one(c, found.get(c.provider_id, []), history, done)
    await tx.deliveries.append_many(done.rows)
    return done


def _one(
    callback: Callback, targets: list[Delivery], history: dict[int, list[Event]], done: _Round
) -> str:
    sid, status = callback.provider_id, callback.status
    meaning = event_for_status(status, callback.error_code)
    if meaning is None:
        return "ignored"  # an interim status (the webhook does not store those)
    if not targets:
        log.warning("twilio status %s for unknown MessageSid %s: ignored", status, sid)
        return "unknown"
    # The sid tells a replayed callback from a later attempt's: each attempt has its own.
    detail = f"{sid} {status}"
    outcome = "replayed"
    for delivery in targets:
        events = history[delivery.id]
        if any(e.event == meaning.event and e.detail == detail for e in events):
            log.info("twilio status replayed: delivery_id=%s sid=%s", delivery.id, sid)
            continue
        outcome = "recorded"
        settled = done.settled.get(delivery.id) or (
            delivery.state if delivery.state in SETTLED else None
        )
        at = callback.received_at
        events.append(Event(meaning.event, at, meaning.provider_code, detail))
        done.rows.append(NewEvent(delivery, meaning.event, at, meaning.provider_code, detail))
        if meaning.event in SETTLED and not settled:
            done.settled[delivery.id] = meaning.event
        if meaning.event == "failed" and settled:
            # Late or repeated: it was delivered (or fell back) already; one message on
            # the next channel at most, and none for someone the SMS reached.
            log.warning(
                "twilio status delivery_id=%s sid=%s %s after %s: no fallback",
                delivery.id,
                sid,
                status,
                settled,
            )
        elif meaning.event == "failed":
            done.failed.append(delivery)  # the carrier could not deliver it: next channel
        log.info(
            "twilio status delivery_id=%s sid=%s %s%s",
            delivery.id,
            sid,
            status,
            f" code={meaning.provider_code}" if meaning.provider_code else "",
        )
    return outcome


class Receipts:
    """The loop that applies stored callbacks while `ewb serve` runs."""

    def __init__(self, services: Services, wake: Callable[[], None]) -> None:
        self.services, self._wake_sender = services, wake
        self._poked = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Callbacks were stored: apply them now."""
        self._poked.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Stop after the round under way (never cancelled inside a transaction: on SQLite
        its thread would finish on a closed loop)."""
        self._stopping = True
        self._poked.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                applied = await apply_twilio(self.services)
            except OUTAGE as error:
                log.warning("applying status callbacks: the database is out (%s)", error)
                applied = Applied()
            except Exception:
                log.exception("applying status callbacks failed; again in %s s", POLL_SECONDS)
                applied = Applied()
            if applied.fell_back:
                self._wake_sender()  # the next channels are due now
            if applied.callbacks < CHUNK:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), POLL_SECONDS)
                self._poked.clear()
