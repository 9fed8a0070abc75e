"""Claiming work: outbox rows, delivery batches and due retries, a chunk at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.fanout import ALL_CHANNELS
from store.outbox import RESIDENTS_EVENT
from store.tables import deliveries, delivery_batches, outbox, warning_versions


@dataclass(frozen=True)
class BatchRow:
    id: int
    warning_id: int
    version: int
    recipient_kind: str
    channel: str
    first_id: int
    last_id: int
    priority: int
    state: str


@dataclass(frozen=True)
class OutboxRow:
    id: int
    warning_id: int
    version: int
    event: str
    after_id: int | None = None  # a residents' slice after the first


def _batch(row: Any) -> BatchRow:
    return BatchRow(
        row.id,
        row.warning_id,
        row.version,
        row.recipient_kind,
        row.channel,
        row.first_id,
        row.last_id,
        row.priority,
        row.state,
    )


def _before(column: Any, when: datetime, *, inclusive: bool = False) -> Any:
    """Never set, or set before `when` (or at it)."""
    return or_(column.is_(None), column <= when if inclusive else column < when)


def _ready(now: datetime) -> Any:
    """A batch waiting to run whose pause (if any) is over."""
    return and_(
        delivery_batches.c.state == "pending",
        _before(delivery_batches.c.not_before, now, inclusive=True),
    )


class BatchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def claim_outbox(self, last: str = "") -> OutboxRow | None:
        """The oldest unprocessed outbox row, locked (PostgreSQL: other runners skip it);
        rows of the event `last` (the residents' planning) only when no other waits."""
        row = (
            await self.conn.execute(
                select(outbox)
                .where(outbox.c.processed_at.is_(None))
                .order_by(case((outbox.c.event == last, 1), else_=0), outbox.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        return OutboxRow(row.id, row.warning_id, row.version, row.event, row.after_id)

    async def finish_outbox(self, outbox_id: int, summary: dict[str, Any], now: datetime) -> None:
        await self.conn.execute(
            update(outbox).where(outbox.c.id == outbox_id).values(processed_at=now, summary=summary)
        )

    async def outbox_waiting(self) -> dict[str, int]:
        """Planning steps not done yet, by event (an issued version's first step, or its
        residents')."""
        found = await self.conn.execute(
            select(outbox.c.event, func.count())
            .where(outbox.c.processed_at.is_(None))
            .group_by(outbox.c.event)
        )
        return {event: int(n) for event, n in found.all()}

    async def outbox_pending(self, warning_id: int) -> bool:
        found = await self.conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.warning_id == warning_id, outbox.c.processed_at.is_(None))
        )
        return bool(found.scalar_one())

    async def claim_batch(
        self, now: datetime, kinds: Sequence[str] | None = None
    ) -> BatchRow | None:
        """The most urgent pending batch (of these recipient kinds: one lane), now running."""
        which = [_ready(now)]
        if kinds is not None:
            which.append(delivery_batches.c.recipient_kind.in_(kinds))
        row = (
            await self.conn.execute(
                select(delivery_batches)
                .where(*which)
                .order_by(delivery_batches.c.priority.desc(), delivery_batches.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        await self.conn.execute(
            update(delivery_batches)
            .where(delivery_batches.c.id == row.id)
            .values(state="running", started_at=now)
        )
        return _batch(row)

    async def take(
        self, batch_id: int, lease: str, now: datetime, stale_before: datetime
    ) -> BatchRow | None:
        """Hold this batch (distributed mode): if pending, or running under a holder whose
        heartbeat is older than `stale_before` (a dead worker). None: done, or held."""
        free = or_(
            delivery_batches.c.state == "pending",
            and_(
                delivery_batches.c.state == "running",
                _before(delivery_batches.c.heartbeat_at, stale_before),
            ),
        )
        taken = await self.conn.execute(
            update(delivery_batches)
            .where(delivery_batches.c.id == batch_id, free)
            .values(
                state="running",
                lease=lease,
                heartbeat_at=now,
                started_at=func.coalesce(delivery_batches.c.started_at, now),
            )
        )
        return await self.get(batch_id) if taken.rowcount == 1 else None

    async def beat(self, batch_id: int, lease: str, now: datetime) -> bool:
        """Renew the hold; False if another worker took the batch over meanwhile."""
        renewed = await self.conn.execute(
            update(delivery_batches)
            .where(
                delivery_batches.c.id == batch_id,
                delivery_batches.c.lease == lease,
                delivery_batches.c.state == "running",
            )
            .values(heartbeat_at=now)
        )
        return renewed.rowcount == 1

    async def to_queue(
        self, now: datetime, requeue_before: datetime, stale_before: datetime, limit: int
    ) -> list[tuple[int, int, str]]:
        """(id, priority, recipient kind) of batches a task must be queued for, marked
        queued now: never queued, queued long ago and not started (the message was lost),
        or held by a worker that stopped beating. Most urgent first."""
        due = or_(
            and_(_ready(now), _before(delivery_batches.c.queued_at, requeue_before)),
            and_(
                delivery_batches.c.state == "running",
                _before(delivery_batches.c.heartbeat_at, stale_before),
                _before(delivery_batches.c.queued_at, stale_before),
            ),
        )
        rows = (
            await self.conn.execute(
                select(
                    delivery_batches.c.id,
                    delivery_batches.c.priority,
                    delivery_batches.c.recipient_kind,
                )
                .where(due)
                .order_by(delivery_batches.c.priority.desc(), delivery_batches.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if rows:
            await self.conn.execute(
                update(delivery_batches)
                .where(delivery_batches.c.id.in_([r.id for r in rows]))
                .values(queued_at=now)
            )
        return [(r.id, r.priority, r.recipient_kind) for r in rows]

    async def due_count(self, now: datetime) -> dict[str, int]:
        """Retries and fallbacks waiting whose time has come, per recipient kind."""
        rows = await self.conn.execute(
            select(deliveries.c.recipient_kind, func.count())
            .where(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now)
            .group_by(deliveries.c.recipient_kind)
        )
        return {kind: int(count) for kind, count in rows}

    async def more_urgent_waiting(
        self,
        priority: int,
        same_lane: Sequence[str],
        urgent: Sequence[str],
        waited_since: datetime,
        now: datetime,
    ) -> bool:
        """Whether a batch that should go before one of `priority` has waited since
        `waited_since` for a slot: a higher priority in the same lane (kinds `same_lane`),
        any batch of the `urgent` kinds, or (with `urgent`) an issued version whose officers
        and loudspeakers are not planned yet (a residents' slice waiting is not urgent)."""
        ready = and_(
            _ready(now),
            func.coalesce(delivery_batches.c.not_before, delivery_batches.c.created_at)
            <= waited_since,
        )
        before = and_(
            delivery_batches.c.recipient_kind.in_(same_lane),
            delivery_batches.c.priority > priority,
        )
        if urgent:
            before = or_(before, delivery_batches.c.recipient_kind.in_(urgent))
        found = await self.conn.execute(select(delivery_batches.c.id).where(ready, before).limit(1))
        if found.first() is not None:
            return True
        if not urgent:
            return False
        unplanned = await self.conn.execute(
            select(outbox.c.id)
            .where(
                outbox.c.processed_at.is_(None),
                outbox.c.event != RESIDENTS_EVENT,
                outbox.c.created_at <= waited_since,
            )
            .limit(1)
        )
        return unplanned.first() is not None

    async def fresh_ready(
        self, kinds: Sequence[str], created_since: datetime, now: datetime
    ) -> bool:
        """Whether a batch of these recipient kinds made since `created_since` waits to run."""
        found = await self.conn.execute(
            select(delivery_batches.c.id)
            .where(
                _ready(now),
                delivery_batches.c.recipient_kind.in_(list(kinds)),
                delivery_batches.c.created_at >= created_since,
            )
            .limit(1)
        )
        return found.first() is not None

    async def step_aside(self, batch_id: int, now: datetime) -> None:
        """A running batch yields its slot to more urgent work: pending again, its unsent
        deliveries untouched (they were never claimed) and due at once."""
        await self.conn.execute(
            update(delivery_batches)
            .where(delivery_batches.c.id == batch_id)
            .values(state="pending", queued_at=None, lease=None, not_before=now)
        )

    async def reset_stale_sending(self, stale_before: datetime, now: datetime) -> int:
        """Deliveries claimed by a worker that died (claimed before `stale_before` and never
        recorded): due again now, marked `resent_after_crash`."""
        reset = await self.conn.execute(
            update(deliveries)
            .where(deliveries.c.state == "sending", deliveries.c.updated_at < stale_before)
            .values(state="pending", next_attempt_at=now, resent_after_crash=True, updated_at=now)
        )
        return reset.rowcount

    async def get(self, batch_id: int) -> BatchRow | None:
        row = (
            await self.conn.execute(
                select(delivery_batches).where(delivery_batches.c.id == batch_id)
            )
        ).first()
        return _batch(row) if row else None

    async def set_state(self, batch_id: int, state: str, now: datetime) -> None:
        values: dict[str, Any] = {"state": state}
        if state in ("done", "cancelled"):
            values["finished_at"] = now
        await self.conn.execute(
            update(delivery_batches).where(delivery_batches.c.id == batch_id).values(values)
        )

    async def give_back(self, batch_id: int, not_before: datetime) -> None:
        """A batch whose run failed: pending again, to be queued once `not_before` came."""
        await self.conn.execute(
            update(delivery_batches)
            .where(delivery_batches.c.id == batch_id)
            .values(state="pending", queued_at=None, lease=None, not_before=not_before)
        )

    async def version_state(self, warning_id: int, version: int) -> str | None:
        return (
            await self.conn.execute(
                select(warning_versions.c.state).where(
                    warning_versions.c.warning_id == warning_id,
                    warning_versions.c.number == version,
                )
            )
        ).scalar()

    def _in(self, batch: BatchRow) -> Any:
        which = [
            deliveries.c.warning_id == batch.warning_id,
            deliveries.c.version == batch.version,
            deliveries.c.recipient_kind == batch.recipient_kind,
            deliveries.c.id.between(batch.first_id, batch.last_id),
        ]
        if batch.channel != ALL_CHANNELS:  # batches cut before they held every channel
            which.append(deliveries.c.channel == batch.channel)
        return and_(*which)

    async def resume(self, batch: BatchRow, now: datetime) -> int:
        """Before a (re-)run of the batch: deliveries left `sending` were in flight when
        the worker that held it died. They go back to pending, marked `resent_after_crash`."""
        left = await self.conn.execute(
            update(deliveries)
            .where(self._in(batch), deliveries.c.state == "sending")
            .values(state="pending", resent_after_crash=True, updated_at=now)
        )
        return left.rowcount

    async def claim_in_batch(self, batch: BatchRow, size: int, now: datetime) -> list[int]:
        """The next `size` pending deliveries of the batch, marked `sending`."""
        rows = (
            await self.conn.execute(
                select(deliveries.c.id, deliveries.c.state)
                .where(
                    self._in(batch),
                    deliveries.c.state == "pending",
                    deliveries.c.next_attempt_at.is_(None),
                )
                .order_by(deliveries.c.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return await self._mark_sending(rows, now)

    async def claim_due(
        self, size: int, now: datetime, kinds: Sequence[str] | None = None
    ) -> list[int]:
        """Retries and fallbacks whose time has come (of these recipient kinds: one lane),
        most urgent first, marked `sending`; only of versions still in force (an older
        version's are cancelled when its successor is planned, and never sent meanwhile)."""
        in_force = exists().where(
            warning_versions.c.warning_id == deliveries.c.warning_id,
            warning_versions.c.number == deliveries.c.version,
            warning_versions.c.state == "issued",
        )
        which = [deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now, in_force]
        if kinds is not None:
            which.append(deliveries.c.recipient_kind.in_(kinds))
        rows = (
            await self.conn.execute(
                select(deliveries.c.id, deliveries.c.state)
                .where(*which)
                .order_by(deliveries.c.priority.desc(), deliveries.c.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return await self._mark_sending(rows, now)

    async def claim_ids(self, delivery_ids: list[int], now: datetime) -> list[int]:
        """These deliveries, if still pending, marked `sending`."""
        rows = (
            await self.conn.execute(
                select(deliveries.c.id, deliveries.c.state)
                .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state == "pending")
                .order_by(deliveries.c.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
        return await self._mark_sending(rows, now)

    async def _mark_sending(self, rows: Any, now: datetime) -> list[int]:
        ids = [r.id for r in rows]
        crashed = [r.id for r in rows if r.state == "sending"]
        if ids:
            await self.conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .values(state="sending", next_attempt_at=None, updated_at=now)
            )
        if crashed:
            await self.conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(crashed))
                .values(resent_after_crash=True)
            )
        return ids

    async def cancel_batch(self, batch: BatchRow, now: datetime) -> int:
        """The batch's unsent deliveries are cancelled (their version is no longer in force)."""
        result = await self.conn.execute(
            update(deliveries)
            .where(self._in(batch), deliveries.c.state == "pending")
            .values(state="cancelled", updated_at=now)
        )
        await self.set_state(batch.id, "cancelled", now)
        return result.rowcount

    async def recover(self, now: datetime) -> tuple[int, int]:
        """After a crash of the one embedded runner: running batches run again, and
        deliveries caught `sending` are sent again (marked `resent_after_crash`)."""
        batches = await self.conn.execute(
            update(delivery_batches)
            .where(delivery_batches.c.state == "running")
            .values(state="pending", started_at=None)
        )
        sending = await self.conn.execute(
            update(deliveries)
            .where(deliveries.c.state == "sending")
            .values(state="pending", next_attempt_at=now, resent_after_crash=True, updated_at=now)
        )
        return batches.rowcount, sending.rowcount

    async def unclaim(self, delivery_ids: list[int], now: datetime) -> int:
        """Deliveries claimed but not sent after all (their batch yielded first): pending in
        their batch again, as if never claimed."""
        result = await self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state == "sending")
            .values(state="pending", next_attempt_at=None, updated_at=now)
        )
        return result.rowcount

    async def release(self, delivery_ids: list[int], when: datetime) -> None:
        """Deliveries claimed by work that failed before sending: back to pending, due then."""
        await self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids), deliveries.c.state == "sending")
            .values(state="pending", next_attempt_at=when)
        )
