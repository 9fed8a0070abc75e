"""Planning a version's deliveries set-based, and cutting them into batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from store.recipients import plan
from store.tables import (
    UTCDateTime,
    area_closure,
    deliveries,
    delivery_batches,
    delivery_events,
    residents,
    terminals,
)
from subscribers.segmentation import AudienceSpec

SUCCEEDED = ("sent", "delivered")
COLUMNS = [
    "warning_id",
    "version",
    "recipient_kind",
    "recipient_id",
    "channel",
    "address",
    "state",
    "attempts",
    "priority",
    "created_at",
    "updated_at",
]


def _fixed(warning_id: int, version: int, priority: int, now: datetime) -> dict[str, Any]:
    return {
        "w": literal(warning_id),
        "v": literal(version),
        "p": literal(priority),
        "now": literal(now, UTCDateTime),
    }


def _only(
    warning_id: int, version: int, repeat: int | None, kind: str | None, since_id: int | None
) -> list[Any]:
    which = [deliveries.c.warning_id == warning_id, deliveries.c.version == version]
    if since_id is not None:  # only the deliveries added after that one (a slice's)
        which.append(deliveries.c.id > since_id)
    if repeat is not None:
        which.append(deliveries.c.repeat == repeat)
    if kind is not None:
        which.append(deliveries.c.recipient_kind == kind)
    return which


ALL_CHANNELS = "*"  # a batch of every channel (see make_batches)


class FanoutRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def cancel_older(
        self, warning_id: int, version: int, now: datetime, *, residents: bool
    ) -> int:
        """Deliveries of earlier versions not yet sent are cancelled, not sent, with their
        batches: the residents', or (`residents` False) everyone else's."""
        if residents:
            of_delivery = deliveries.c.recipient_kind == "resident"
            of_batch = delivery_batches.c.recipient_kind == "resident"
        else:
            of_delivery = deliveries.c.recipient_kind != "resident"
            of_batch = delivery_batches.c.recipient_kind != "resident"
        result = await self.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version < version,
                deliveries.c.state == "pending",
                of_delivery,
            )
            .values(state="cancelled", next_attempt_at=None, updated_at=now)
        )
        await self.conn.execute(
            update(delivery_batches)
            .where(
                delivery_batches.c.warning_id == warning_id,
                delivery_batches.c.version < version,
                delivery_batches.c.state == "pending",
                of_batch,
            )
            .values(state="cancelled", finished_at=now)
        )
        return result.rowcount

    async def slice_end(self, after: int | None, size: int) -> int | None:
        """The id of the `size`-th resident after `after`: the end of a planning slice;
        None when fewer are left (the slice runs to the end)."""
        which = [] if after is None else [residents.c.id > after]
        found = await self.conn.execute(
            select(residents.c.id).where(*which).order_by(residents.c.id).offset(size - 1).limit(1)
        )
        return found.scalar()

    async def last_delivery_id(self) -> int:
        """The highest delivery id so far: what a slice adds after it is the slice's."""
        found = await self.conn.execute(select(func.max(deliveries.c.id)))
        return found.scalar() or 0

    async def add_planned(
        self,
        warning_id: int,
        version: int,
        spec: AudienceSpec,
        priority: int,
        now: datetime,
        after: int | None = None,
        upto: int | None = None,
    ) -> int:
        """One delivery per planned resident (whose id is after `after` and up to `upto`);
        no channel left → state `unreachable`."""
        f = _fixed(warning_id, version, priority, now)
        planned = plan(spec, after, upto).subquery()
        address = case(
            (planned.c.channel == "sms", residents.c.phone),
            (planned.c.channel == "wechat", residents.c.wechat_openid),
            else_="",
        )
        rows = select(
            f["w"],
            f["v"],
            literal("resident"),
            cast(planned.c.resident_id, String),
            func.coalesce(planned.c.channel, "none"),
            func.coalesce(address, ""),
            case((planned.c.channel.is_(None), "unreachable"), else_="pending"),
            literal(0),
            f["p"],
            f["now"],
            f["now"],
        ).select_from(planned.join(residents, residents.c.id == planned.c.resident_id))
        result = await self.conn.execute(insert(deliveries).from_select(COLUMNS, rows))
        return result.rowcount

    async def add_previous(
        self,
        warning_id: int,
        version: int,
        priority: int,
        now: datetime,
        kinds: Sequence[str] = ("resident", "officer"),
        after: int | None = None,
        upto: int | None = None,
    ) -> int:
        """Those an earlier version reached get this one too, on the channel that worked;
        with `after`/`upto`, only recipients whose id is in that slice (after, upto]."""
        f = _fixed(warning_id, version, priority, now)
        in_slice = []  # resident ids are stored as text: compared as the numbers they are
        number = cast(deliveries.c.recipient_id, Integer)
        if after is not None:
            in_slice.append(number > after)
        if upto is not None:
            in_slice.append(number <= upto)
        earlier = (
            select(func.min(deliveries.c.id).label("id"))
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version < version,
                deliveries.c.state.in_(SUCCEEDED),
                deliveries.c.recipient_kind.in_(kinds),
                *in_slice,
            )
            .group_by(deliveries.c.recipient_kind, deliveries.c.recipient_id)
            .subquery()
        )
        old = deliveries.alias("old")
        mine = deliveries.alias("mine")
        rows = select(
            f["w"],
            f["v"],
            old.c.recipient_kind,
            old.c.recipient_id,
            old.c.channel,
            old.c.address,
            literal("pending"),
            literal(0),
            f["p"],
            f["now"],
            f["now"],
        ).where(
            old.c.id.in_(select(earlier.c.id)),
            ~exists().where(
                mine.c.warning_id == warning_id,
                mine.c.version == version,
                mine.c.recipient_kind == old.c.recipient_kind,
                mine.c.recipient_id == old.c.recipient_id,
            ),
        )
        result = await self.conn.execute(insert(deliveries).from_select(COLUMNS, rows))
        return result.rowcount

    async def add_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        values = list(rows)
        if values:
            await self.conn.execute(insert(deliveries), values)
        return len(values)

    async def add_terminals(
        self,
        warning_id: int,
        version: int,
        areas: Sequence[str],
        priority: int,
        now: datetime,
        repeat: int = 0,
        online_only: bool = False,
    ) -> int:
        """One delivery per terminal in or under the areas (`repeat` > 0: a repeat; with
        `online_only`, only the terminals the platform last reported online)."""
        f = _fixed(warning_id, version, priority, now)
        which = [
            exists().where(
                area_closure.c.descendant == terminals.c.area_code,
                area_closure.c.ancestor.in_(list(areas)),
            )
        ]
        if online_only:
            which.append(terminals.c.status == "online")
        rows = select(
            f["w"],
            f["v"],
            literal("terminal"),
            terminals.c.id,
            literal("broadcast"),
            terminals.c.endpoint_id,
            literal("pending"),
            literal(0),
            f["p"],
            f["now"],
            f["now"],
            literal(repeat),
        ).where(*which)
        result = await self.conn.execute(insert(deliveries).from_select([*COLUMNS, "repeat"], rows))
        return result.rowcount

    async def queue_events(
        self,
        warning_id: int,
        version: int,
        now: datetime,
        repeat: int | None = None,
        kind: str | None = None,
        since_id: int | None = None,
    ) -> None:
        """A `queued` event for every delivery of the version (or of one repeat to one
        kind of recipient; or those with an id above `since_id`)."""
        which = _only(warning_id, version, repeat, kind, since_id)
        await self.conn.execute(
            insert(delivery_events).from_select(
                ["delivery_id", "event", "at"],
                select(deliveries.c.id, literal("queued"), literal(now, UTCDateTime)).where(*which),
            )
        )

    async def make_batches(
        self,
        warning_id: int,
        version: int,
        size: int,
        now: datetime,
        repeat: int | None = None,
        kind: str | None = None,
        since_id: int | None = None,
    ) -> int:
        """Cut the pending deliveries (of one repeat to one kind of recipient; with an id
        above `since_id`) into id ranges of `size` per recipient kind. A batch holds every
        channel (channel `*`): its chunks send SMS and WeChat side by side, each at its
        own provider's pace."""
        which = [
            *_only(warning_id, version, repeat, kind, since_id),
            deliveries.c.state == "pending",
        ]
        numbered = (
            select(
                deliveries.c.id,
                deliveries.c.recipient_kind,
                deliveries.c.priority,
                func.row_number()
                .over(partition_by=deliveries.c.recipient_kind, order_by=deliveries.c.id)
                .label("n"),
            )
            .where(*which)
            .subquery()
        )
        starts = (
            await self.conn.execute(
                select(numbered.c.recipient_kind, numbered.c.id, numbered.c.priority)
                .where((numbered.c.n - 1) % size == 0)
                .order_by(numbered.c.recipient_kind, numbered.c.id)
            )
        ).all()
        ends = dict(
            (
                await self.conn.execute(
                    select(deliveries.c.recipient_kind, func.max(deliveries.c.id))
                    .where(*which)
                    .group_by(deliveries.c.recipient_kind)
                )
            ).all()
        )
        batches = []
        for i, (kind_of, first, priority) in enumerate(starts):
            following = starts[i + 1] if i + 1 < len(starts) else None
            same = following is not None and following[0] == kind_of
            last = following[1] - 1 if same else ends[kind_of]
            batches.append(
                {
                    "warning_id": warning_id,
                    "version": version,
                    "recipient_kind": kind_of,
                    "channel": ALL_CHANNELS,
                    "first_id": first,
                    "last_id": last,
                    "priority": priority,
                    "state": "pending",
                    "created_at": now,
                }
            )
        if batches:
            await self.conn.execute(insert(delivery_batches), batches)
        return len(batches)

    async def summary(self, warning_id: int, version: int) -> dict[str, dict[str, int]]:
        """Deliveries per recipient kind and channel."""
        rows = await self.conn.execute(
            select(deliveries.c.recipient_kind, deliveries.c.channel, func.count())
            .where(deliveries.c.warning_id == warning_id, deliveries.c.version == version)
            .group_by(deliveries.c.recipient_kind, deliveries.c.channel)
        )
        found: dict[str, dict[str, int]] = {}
        for kind, channel, count in rows:
            found.setdefault(kind, {})[channel] = int(count)
        return found
