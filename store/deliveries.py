"""Deliveries and their events: results of sends, and callbacks that move their state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from channels.base import Outcome, SendResult
from store.fanout import SUCCEEDED
from store.reach import ReachRepository
from store.tables import deliveries, delivery_events, warning_versions

# Events a delivery can record, and the state each one moves it to (None: state unchanged).
EVENT_STATE = {
    "queued": None,
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "read": None,
    "acknowledged": None,
    "played": "delivered",  # the platform's EBMStateResponse says the terminal played
    "terminal-ack": None,  # ewb's own JSON playback callback (the simulator): a note only
}


# How far a delivery has come; a late callback never moves it back.
STATE_RANK = {"pending": 0, "sending": 0, "sent": 1, "failed": 2, "delivered": 3, "cancelled": 4}


@dataclass(frozen=True)
class Delivery:
    id: int
    warning_id: int
    version: int
    recipient_kind: str
    recipient_id: str
    channel: str
    address: str
    state: str
    attempts: int
    provider_id: str | None
    last_error: str | None
    priority: int = 0
    next_attempt_at: datetime | None = None
    resent_after_crash: bool = False
    repeat: int = 0


@dataclass(frozen=True)
class Event:
    event: str
    at: datetime
    provider_code: str | None
    detail: str | None


@dataclass(frozen=True)
class NewEvent:
    """An event to append to `delivery` (as read in the same transaction)."""

    delivery: Delivery
    event: str
    at: datetime
    provider_code: str | None = None
    detail: str | None = None


def _moves_on(target: str | None, current: str) -> bool:
    """Whether an event's state is further than the delivery's: callbacks arrive out of
    order, and a delivery never moves backwards."""
    return target is not None and STATE_RANK[target] > STATE_RANK[current]


def _failure(provider_code: str, detail: str | None) -> str:
    """A failure's last_error: the provider's code and what it said."""
    return f"{provider_code}: {detail}" if detail else provider_code


def _grouped(rows: Sequence[NewEvent]) -> dict[tuple[str, datetime], list[int]]:
    groups: dict[tuple[str, datetime], list[int]] = {}
    for r in rows:
        groups.setdefault((r.event, r.at), []).append(r.delivery.id)
    return groups


def _delivery(row: object) -> Delivery:
    return Delivery(
        **{
            c.name: getattr(row, c.name)
            for c in deliveries.columns
            if c.name not in ("created_at", "updated_at")
        }
    )


class DeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(
        self,
        *,
        warning_id: int,
        version: int,
        recipient_kind: str,
        recipient_id: str,
        channel: str,
        address: str,
        now: datetime,
        priority: int = 0,
        due_at: datetime | None = None,
        repeat: int = 0,
        detail: str | None = None,
    ) -> int:
        """One delivery and its `queued` event (the fan-out engine inserts them set-based).
        With `due_at` the runner's due path (the retry sweep) sends it then."""
        result = await self.conn.execute(
            insert(deliveries).values(
                warning_id=warning_id,
                version=version,
                recipient_kind=recipient_kind,
                recipient_id=recipient_id,
                channel=channel,
                address=address,
                state="pending",
                attempts=0,
                priority=priority,
                next_attempt_at=due_at,
                repeat=repeat,
                created_at=now,
                updated_at=now,
            )
        )
        delivery_id = int(result.inserted_primary_key[0])
        await self.append(delivery_id, "queued", now, None, detail)
        return delivery_id

    async def get(self, delivery_id: int) -> Delivery | None:
        row = (
            await self.conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))
        ).first()
        return _delivery(row) if row else None

    async def by_provider_id(
        self, provider_id: str, address: str | None = None, *, lock: bool = False
    ) -> list[Delivery]:
        """Deliveries the provider knows by this id; `lock` holds them until commit, so two
        identical callbacks arriving together are recorded once."""
        query = select(deliveries).where(deliveries.c.provider_id == provider_id)
        if address is not None:
            query = query.where(deliveries.c.address == address)
        if lock:
            query = query.with_for_update()
        return [_delivery(r) for r in await self.conn.execute(query.order_by(deliveries.c.id))]

    async def unconfirmed_plays(self, terminal_ids: Sequence[str]) -> list[Delivery]:
        """These terminals' loudspeaker deliveries that the platform took (`sent`) but has
        not reported played or failed, of versions still in force; locked until commit."""
        if not terminal_ids:
            return []
        in_force = exists().where(
            warning_versions.c.warning_id == deliveries.c.warning_id,
            warning_versions.c.number == deliveries.c.version,
            warning_versions.c.state == "issued",
        )
        query = (
            select(deliveries)
            .where(
                deliveries.c.recipient_kind == "terminal",
                deliveries.c.recipient_id.in_(list(terminal_ids)),
                deliveries.c.state == "sent",
                in_force,
            )
            .order_by(deliveries.c.id)
            .with_for_update()
        )
        return [_delivery(r) for r in await self.conn.execute(query)]

    async def by_provider_ids(
        self, provider_ids: Sequence[str], channel: str
    ) -> dict[str, list[Delivery]]:
        """provider id → the deliveries on `channel` the provider knows by it, held until
        commit (locked in id order, so two transactions never wait for each other)."""
        if not provider_ids:
            return {}
        query = (
            select(deliveries)
            .where(deliveries.c.provider_id.in_(sorted(set(provider_ids))))
            .where(deliveries.c.channel == channel)
            .order_by(deliveries.c.id)
            .with_for_update()
        )
        found: dict[str, list[Delivery]] = {}
        for row in await self.conn.execute(query):
            found.setdefault(row.provider_id, []).append(_delivery(row))
        return found

    async def earlier_provider_ids(
        self, warning_id: int, version: int, recipient_kind: str, recipient_ids: Sequence[str]
    ) -> dict[str, str]:
        """recipient id → the provider id of the newest earlier version that reached them
        (a loudspeaker terminal's EBMID, for the RelatedInfo of an update or cancel)."""
        if not recipient_ids:
            return {}
        rows = await self.conn.execute(
            select(deliveries.c.recipient_id, deliveries.c.provider_id)
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version < version,
                deliveries.c.recipient_kind == recipient_kind,
                deliveries.c.recipient_id.in_(list(recipient_ids)),
                deliveries.c.state.in_(SUCCEEDED),
                deliveries.c.provider_id.is_not(None),
            )
            .order_by(deliveries.c.version, deliveries.c.id)
        )
        return {recipient: provider for recipient, provider in rows}  # the newest wins

    async def provider_id_known(self, provider_id: str) -> bool:
        found = await self.conn.execute(
            select(exists().where(deliveries.c.provider_id == provider_id))
        )
        return bool(found.scalar())

    async def latest_to(self, address: str, channel: str) -> Delivery | None:
        """The most recent delivery sent to this address on this channel."""
        row = (
            await self.conn.execute(
                select(deliveries)
                .where(
                    deliveries.c.address == address,
                    deliveries.c.channel == channel,
                    deliveries.c.provider_id.is_not(None),
                )
                .order_by(deliveries.c.id.desc())
                .limit(1)
            )
        ).first()
        return _delivery(row) if row else None

    async def record_result(
        self, result: SendResult, now: datetime, retry_at: datetime | None = None
    ) -> None:
        """Store what the provider answered to one send attempt, as state and an event.

        A retryable answer with `retry_at` puts the delivery back to `pending` until then;
        without it (the retry window is over) the delivery has failed.
        """
        values: dict[str, object] = {"attempts": deliveries.c.attempts + 1, "updated_at": now}
        if result.outcome is Outcome.ACCEPTED:
            values.update(
                state="sent", provider_id=result.provider_id, last_error=None, next_attempt_at=None
            )
            event = "sent"
        else:
            values["last_error"] = f"{result.code}: {result.detail}"
            if result.outcome is Outcome.RETRYABLE and retry_at is not None:
                values.update(state="pending", next_attempt_at=retry_at)
            else:
                values.update(state="failed", next_attempt_at=None)
            event = "failed"
        await self.conn.execute(
            update(deliveries).where(deliveries.c.id == result.delivery_id).values(values)
        )
        await self.append(
            result.delivery_id, event, now, result.code, result.detail, move_state=False
        )

    async def record_accepted(self, results: list[SendResult], now: datetime) -> None:
        """Store many accepted sends at once (two statements, each run for every row)."""
        if not results:
            return
        await self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"))
            .values(
                state="sent",
                provider_id=bindparam("b_provider_id"),
                attempts=deliveries.c.attempts + 1,
                updated_at=now,
                last_error=None,
                next_attempt_at=None,
            ),
            [{"b_id": r.delivery_id, "b_provider_id": r.provider_id} for r in results],
        )
        await self.conn.execute(
            insert(delivery_events),
            [
                {
                    "delivery_id": r.delivery_id,
                    "event": "sent",
                    "at": now,
                    "provider_code": r.code,
                    "detail": r.detail,
                }
                for r in results
            ],
        )
        await ReachRepository(self.conn).record([r.delivery_id for r in results], "sent", now)

    async def many(self, delivery_ids: list[int]) -> list[Delivery]:
        rows = await self.conn.execute(
            select(deliveries).where(deliveries.c.id.in_(delivery_ids)).order_by(deliveries.c.id)
        )
        return [_delivery(r) for r in rows]

    async def created_at(self, delivery_ids: list[int]) -> dict[int, datetime]:
        rows = await self.conn.execute(
            select(deliveries.c.id, deliveries.c.created_at).where(
                deliveries.c.id.in_(delivery_ids)
            )
        )
        return {r.id: r.created_at for r in rows}

    async def channels_tried(
        self, warning_id: int, version: int, kind: str, recipient_id: str
    ) -> set[str]:
        rows = await self.conn.execute(
            select(deliveries.c.channel).where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == kind,
                deliveries.c.recipient_id == recipient_id,
            )
        )
        return {r.channel for r in rows}

    async def add_fallback(
        self, failed: Delivery, channel: str, address: str, priority: int, now: datetime
    ) -> int:
        """The same person on their next channel, due now (the retry sweep sends it)."""
        return await self.add(
            warning_id=failed.warning_id,
            version=failed.version,
            recipient_kind=failed.recipient_kind,
            recipient_id=failed.recipient_id,
            channel=channel,
            address=address,
            now=now,
            priority=priority,
            due_at=now,
            detail=f"fallback from {failed.channel}",
        )

    async def has_event(self, delivery_id: int, event: str) -> bool:
        return bool(
            (
                await self.conn.execute(
                    select(
                        exists().where(
                            delivery_events.c.delivery_id == delivery_id,
                            delivery_events.c.event == event,
                        )
                    )
                )
            ).scalar()
        )

    async def append(
        self,
        delivery_id: int,
        event: str,
        at: datetime,
        provider_code: str | None = None,
        detail: str | None = None,
        *,
        move_state: bool = True,
    ) -> None:
        """Append an event and (unless told not to) move the delivery's state with it."""
        await self.conn.execute(
            insert(delivery_events).values(
                delivery_id=delivery_id,
                event=event,
                at=at,
                provider_code=provider_code,
                detail=detail,
            )
        )
        await ReachRepository(self.conn).record([delivery_id], event, at)
        state = EVENT_STATE[event]
        if move_state and state is not None:
            current = (
                await self.conn.execute(
                    select(deliveries.c.state).where(deliveries.c.id == delivery_id)
                )
            ).scalar_one()
            if not _moves_on(state, current):
                return
            values: dict[str, object] = {"state": state, "updated_at": at}
            if event == "failed" and provider_code:
                values["last_error"] = _failure(provider_code, detail)
            await self.conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
            )

    async def events_of(self, delivery_ids: Sequence[int]) -> dict[int, list[Event]]:
        """delivery id → its events, oldest first (one query for many deliveries)."""
        found: dict[int, list[Event]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        rows = await self.conn.execute(
            select(delivery_events)
            .where(delivery_events.c.delivery_id.in_(sorted(found)))
            .order_by(delivery_events.c.id)
        )
        for r in rows:
            found[r.delivery_id].append(Event(r.event, r.at, r.provider_code, r.detail))
        return found

    async def append_many(self, rows: Sequence[NewEvent]) -> None:
        """Append many events at once and move each delivery's state with them, never
        backwards: `rows` carry the deliveries as they were read in this transaction."""
        if not rows:
            return
        await self.conn.execute(
            insert(delivery_events),
            [
                {
                    "delivery_id": r.delivery.id,
                    "event": r.event,
                    "at": r.at,
                    "provider_code": r.provider_code,
                    "detail": r.detail,
                }
                for r in rows
            ],
        )
        reach = ReachRepository(self.conn)
        for (event, at), ids in _grouped(rows).items():
            await reach.record(ids, event, at)
        moves: dict[int, dict[str, object]] = {}
        state = {r.delivery.id: r.delivery.state for r in rows}
        for r in rows:
            target = EVENT_STATE[r.event]
            if target is None or not _moves_on(target, state[r.delivery.id]):
                continue
            state[r.delivery.id] = target
            error = r.delivery.last_error
            if r.event == "failed" and r.provider_code:
                error = _failure(r.provider_code, r.detail)
            moves[r.delivery.id] = {"state": target, "updated_at": r.at, "last_error": error}
        if moves:
            await self.conn.execute(
                update(deliveries)
                .where(deliveries.c.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    updated_at=bindparam("b_at"),
                    last_error=bindparam("b_error"),
                ),
                [
                    {
                        "b_id": i,
                        "b_state": m["state"],
                        "b_at": m["updated_at"],
                        "b_error": m["last_error"],
                    }
                    for i, m in moves.items()
                ],
            )

    async def events(self, delivery_id: int) -> list[Event]:
        return (await self.events_of([delivery_id]))[delivery_id]
