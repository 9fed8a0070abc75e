"""What the timers look for: loudspeaker repeats due, officers to remind, gap checks due."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.deliveries import DeliveryRepository
from store.dialect import insert_for
from store.tables import deliveries, delivery_events, gap_checks, users, warning_versions

IN_FLIGHT = ("pending", "sending")
REMINDER = "reminder"  # the detail of a reminder's `queued` event
# A delivery joined to the warning version it belongs to.
_OF_VERSION = and_(
    warning_versions.c.warning_id == deliveries.c.warning_id,
    warning_versions.c.number == deliveries.c.version,
)
GAP = "gap"  # recipient_kind of a relay request to an officer whose villages are below target


@dataclass(frozen=True)
class Unacknowledged:
    """An officer who has not acknowledged an issued version sent to them."""

    warning_id: int
    version: int
    username: str
    latest_first: int  # their most recent first-send delivery: a reminder goes the same way
    reminded_at: datetime | None  # when their reminder was queued, if it was


@dataclass(frozen=True)
class Chief:
    username: str
    phone: str | None
    wecom_id: str | None
    areas: frozenset[str]


class TimerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def repeats_due(self, last_before: datetime) -> list[tuple[int, int, int]]:
        """(warning id, version, repeats so far) of issued red warnings (actual, not an
        exercise) whose loudspeakers last got the warning before `last_before`."""
        rows = await self.conn.execute(
            select(
                deliveries.c.warning_id,
                deliveries.c.version,
                func.max(deliveries.c.repeat),
            )
            .join(warning_versions, _OF_VERSION)
            .where(
                deliveries.c.recipient_kind == "terminal",
                warning_versions.c.state == "issued",
                warning_versions.c.grade == "red",
                warning_versions.c.mode == "actual",
                warning_versions.c.kind != "cancel",
            )
            .group_by(deliveries.c.warning_id, deliveries.c.version)
            .having(func.max(deliveries.c.created_at) < last_before)
        )
        return [(int(w), int(v), int(n)) for w, v, n in rows]

    async def unacknowledged_officers(self, sent_before: datetime) -> list[Unacknowledged]:
        """Officers first sent an issued version (actual or exercise, not an all-clear) at
        or before `sent_before`, none of whose deliveries of it is in flight or has been
        acknowledged; with when their reminder (repeat ≥ 1) was queued, if it was."""
        other = deliveries.alias("other")
        acknowledged = (
            exists()
            .where(
                other.c.warning_id == deliveries.c.warning_id,
                other.c.version == deliveries.c.version,
                other.c.recipient_kind == "officer",
                other.c.recipient_id == deliveries.c.recipient_id,
                delivery_events.c.delivery_id == other.c.id,
                delivery_events.c.event == "acknowledged",
            )
            .correlate(deliveries)
        )
        first = deliveries.c.repeat == 0
        first_sent = func.min(case((first, deliveries.c.created_at)))
        in_flight = func.sum(case((and_(first, deliveries.c.state.in_(IN_FLIGHT)), 1), else_=0))
        rows = await self.conn.execute(
            select(
                deliveries.c.warning_id,
                deliveries.c.version,
                deliveries.c.recipient_id,
                func.max(case((first, deliveries.c.id))).label("latest_first"),
                func.min(case((deliveries.c.repeat >= 1, deliveries.c.created_at))).label(
                    "reminded_at"
                ),
            )
            .join(warning_versions, _OF_VERSION)
            .where(
                deliveries.c.recipient_kind == "officer",
                warning_versions.c.state == "issued",
                warning_versions.c.mode.in_(("actual", "exercise")),
                warning_versions.c.kind != "cancel",
                ~acknowledged,
            )
            .group_by(deliveries.c.warning_id, deliveries.c.version, deliveries.c.recipient_id)
            .having(first_sent <= sent_before, in_flight == 0)
            .order_by(deliveries.c.warning_id, deliveries.c.version, deliveries.c.recipient_id)
        )
        return [
            Unacknowledged(
                int(r.warning_id),
                int(r.version),
                r.recipient_id,
                int(r.latest_first),
                r.reminded_at,
            )
            for r in rows
        ]

    async def add_reminder(self, first_id: int, now: datetime) -> int:
        """The officer's delivery `first_id` again, as their reminder (repeat 1), due now
        (the runner's due path sends it)."""
        source = (
            await self.conn.execute(select(deliveries).where(deliveries.c.id == first_id))
        ).one()
        return await self._add(
            warning_id=source.warning_id,
            version=source.version,
            recipient_kind=source.recipient_kind,
            recipient_id=source.recipient_id,
            channel=source.channel,
            address=source.address,
            priority=source.priority,
            repeat=1,
            now=now,
            detail=REMINDER,
        )

    async def duty_chiefs(self) -> list[Chief]:
        """Active duty chiefs with a WeCom id or a phone."""
        rows = await self.conn.execute(
            select(users.c.username, users.c.phone, users.c.wecom_id, users.c.areas)
            .where(users.c.role == "duty_chief", users.c.active.is_(True))
            .order_by(users.c.username)
        )
        return [
            Chief(r.username, r.phone or None, r.wecom_id or None, frozenset(r.areas))
            for r in rows
            if r.phone or r.wecom_id
        ]

    async def reported_officers(self, warning_id: int, version: int) -> set[str]:
        """Officers the duty chiefs were already told about for this version (named in
        the `queued` event of a chief's delivery)."""
        rows = await self.conn.execute(
            select(delivery_events.c.detail)
            .join(deliveries, deliveries.c.id == delivery_events.c.delivery_id)
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "chief",
                delivery_events.c.event == "queued",
                delivery_events.c.detail.is_not(None),
            )
        )
        found: set[str] = set()
        for (detail,) in rows:
            found.update(reported_in(detail))
        return found

    async def add_chief_message(
        self,
        warning_id: int,
        version: int,
        chief: str,
        channel: str,
        address: str,
        priority: int,
        officers: list[str],
        now: datetime,
    ) -> int:
        """A message to a duty chief naming the `officers` who have not acknowledged the
        version, due now; its repeat is the chief's next free one for the version."""
        return await self._add(
            warning_id=warning_id,
            version=version,
            recipient_kind="chief",
            recipient_id=chief,
            channel=channel,
            address=address,
            priority=priority,
            repeat=await self._next_repeat(warning_id, version, "chief", chief),
            now=now,
            detail=json.dumps(sorted(officers)),
        )

    async def gap_checks_due(self, issued_before: datetime) -> list[tuple[int, int]]:
        """(warning id, version) of issued red and orange warnings (actual, not all-clears)
        issued at or before `issued_before` whose gaps were not checked yet."""
        rows = await self.conn.execute(
            select(warning_versions.c.warning_id, warning_versions.c.number)
            .where(
                warning_versions.c.state == "issued",
                warning_versions.c.grade.in_(("red", "orange")),
                warning_versions.c.mode == "actual",
                warning_versions.c.kind != "cancel",
                warning_versions.c.issued_at <= issued_before,
                ~exists().where(
                    gap_checks.c.warning_id == warning_versions.c.warning_id,
                    gap_checks.c.version == warning_versions.c.number,
                ),
            )
            .order_by(warning_versions.c.issued_at)
        )
        return [(int(w), int(v)) for w, v in rows]

    async def claim_gap_check(self, warning_id: int, version: int, now: datetime) -> bool:
        """Record that the version's gaps are checked now; False if that was done already."""
        dialect_insert = insert_for(self.conn)
        claimed = await self.conn.execute(
            dialect_insert(gap_checks)
            .values(warning_id=warning_id, version=version, checked_at=now, gaps=0)
            .on_conflict_do_nothing()
        )
        return bool(claimed.rowcount)

    async def set_gaps_found(self, warning_id: int, version: int, gaps: int) -> None:
        await self.conn.execute(
            gap_checks.update()
            .where(gap_checks.c.warning_id == warning_id, gap_checks.c.version == version)
            .values(gaps=gaps)
        )

    async def next_terminal_repeat(self, warning_id: int, version: int) -> int:
        """The next free `repeat` of the version's loudspeaker deliveries."""
        return await self._next_repeat(warning_id, version, "terminal")

    async def add_gap_message(
        self,
        warning_id: int,
        version: int,
        officer: str,
        channel: str,
        address: str,
        priority: int,
        areas: dict[str, float],
        now: datetime,
    ) -> int:
        """A message to an officer listing the unreachable residents of `areas` (their
        villages below target, with the estimated coverage found) and the request to
        relay, due now."""
        return await self._add(
            warning_id=warning_id,
            version=version,
            recipient_kind=GAP,
            recipient_id=officer,
            channel=channel,
            address=address,
            priority=priority,
            repeat=await self._next_repeat(warning_id, version, GAP, officer),
            now=now,
            detail=json.dumps(areas, sort_keys=True),
        )

    async def _next_repeat(
        self, warning_id: int, version: int, kind: str, recipient: str | None = None
    ) -> int:
        """The next free `repeat` of the version's deliveries of this kind (to `recipient`)."""
        which = [
            deliveries.c.warning_id == warning_id,
            deliveries.c.version == version,
            deliveries.c.recipient_kind == kind,
        ]
        if recipient is not None:
            which.append(deliveries.c.recipient_id == recipient)
        taken = (
            await self.conn.execute(select(func.max(deliveries.c.repeat)).where(*which))
        ).scalar()
        return 0 if taken is None else int(taken) + 1

    async def _add(
        self,
        *,
        warning_id: int,
        version: int,
        recipient_kind: str,
        recipient_id: str,
        channel: str,
        address: str,
        priority: int,
        repeat: int,
        now: datetime,
        detail: str,
    ) -> int:
        """A delivery due now, its `queued` event carrying `detail`."""
        return await DeliveryRepository(self.conn).add(
            warning_id=warning_id,
            version=version,
            recipient_kind=recipient_kind,
            recipient_id=recipient_id,
            channel=channel,
            address=address,
            now=now,
            priority=priority,
            due_at=now,
            repeat=repeat,
            detail=detail,
        )

    async def officer_deliveries(
        self, warning_id: int, version: int, username: str, *, lock: bool = True
    ) -> list[tuple[int, datetime | None]]:
        """(delivery id, first acknowledgement or None) of every delivery of the version to
        this officer, held until the transaction ends (unless `lock` is False: a page view)."""
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "officer",
                deliveries.c.recipient_id == username,
            )
            .order_by(deliveries.c.id)
        )
        ids = [r.id for r in await self.conn.execute(query.with_for_update() if lock else query)]
        if not ids:
            return []
        acked = dict(
            (
                await self.conn.execute(
                    select(delivery_events.c.delivery_id, func.min(delivery_events.c.at))
                    .where(
                        delivery_events.c.delivery_id.in_(ids),
                        delivery_events.c.event == "acknowledged",
                    )
                    .group_by(delivery_events.c.delivery_id)
                )
            ).all()
        )
        return [(i, acked.get(i)) for i in ids]


def reported_in(detail: str | None) -> list[str]:
    """The officers a chief's `queued` detail names (a JSON list of usernames)."""
    try:
        names = json.loads(detail or "")
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def gap_areas_in(detail: str | None) -> dict[str, float]:
    """The villages (and their estimated coverage) a relay request's `queued` detail names."""
    try:
        areas = json.loads(detail or "")
    except ValueError:
        return {}
    if not isinstance(areas, dict):
        return {}
    return {k: float(v) for k, v in areas.items() if isinstance(v, int | float)}
