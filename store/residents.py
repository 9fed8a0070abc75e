"""Residents: bulk upsert for imports, single-resident CRUD, search within an area scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from store import bulk
from store.dialect import insert_for
from store.tables import (
    UTCDateTime,
    area_closure,
    channel_optouts,
    resident_channels,
    resident_groups,
    resident_hazard_grades,
    residents,
)
from subscribers import channels
from subscribers.residents import Resident
from warning.grades import Grade

_COMPARED = (
    "name",
    "phone",
    "wechat_openid",
    "locale",
    "area_code",
    "min_grade",
    "test_recipient",
    "consent_at",
)


@dataclass(frozen=True)
class StoredResident:
    id: int
    resident: Resident
    hazard_grades: dict[str, Grade] = field(default_factory=dict)
    opted_out: dict[str, datetime] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


# Per-batch staging tables (temporary: each connection has its own).
_staging = MetaData()
STAGE = Table(
    "stage_residents",
    _staging,
    Column("external_id", String(64), primary_key=True),
    Column("name", String(100)),
    Column("phone", String(20)),
    Column("phone_last4", String(4)),
    Column("wechat_openid", String(64)),
    Column("locale", String(10)),
    Column("area_code", String(20)),
    Column("min_grade", Integer),
    Column("test_recipient", Boolean),
    Column("consent_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
STAGE_GROUPS = Table(
    "stage_groups",
    _staging,
    Column("external_id", String(64), primary_key=True),
    Column("group_code", String(40), primary_key=True),
    prefixes=["TEMPORARY"],
)
STAGE_CHANNELS = Table(
    "stage_channels",
    _staging,
    Column("external_id", String(64), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("rank", Integer),
    prefixes=["TEMPORARY"],
)
STAGE_CHANGED = Table(
    "stage_changed", _staging, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"]
)
STAGING = (STAGE, STAGE_GROUPS, STAGE_CHANNELS, STAGE_CHANGED)
LISTS = (
    (resident_groups, STAGE_GROUPS, ("group_code",)),
    (resident_channels, STAGE_CHANNELS, ("channel", "rank")),
)


def _stage_row(r: Resident) -> tuple[Any, ...]:
    return (
        r.external_id,
        r.name,
        r.phone,
        r.phone[-4:] if r.phone else None,
        r.wechat_openid,
        r.locale,
        r.area_code,
        r.min_grade.rank,
        r.test_recipient,
        r.consent_at,
    )


def _row(resident: Resident, now: datetime) -> dict[str, Any]:
    return {
        "external_id": resident.external_id,
        "name": resident.name,
        "phone": resident.phone,
        "phone_last4": resident.phone[-4:] if resident.phone else None,
        "wechat_openid": resident.wechat_openid,
        "locale": resident.locale,
        "area_code": resident.area_code,
        "min_grade": resident.min_grade.rank,
        "test_recipient": resident.test_recipient,
        "consent_at": resident.consent_at,
        "created_at": now,
        "updated_at": now,
    }


def under(scope: Iterable[str]) -> ColumnElement[bool]:
    """Residents whose area is one of `scope` or lies under one of them."""
    return exists().where(
        area_closure.c.descendant == residents.c.area_code,
        area_closure.c.ancestor.in_(list(scope)),
    )


# The tables an import writes in bulk (their statistics are refreshed after it).
IMPORTED = (residents, resident_groups, resident_channels)


class ResidentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _insert(self) -> Any:
        return insert_for(self.conn)

    async def upsert_many(self, batch: Sequence[Resident], now: datetime) -> UpsertCounts:
        """Insert new residents and update changed ones, matched by external id.

        The batch is bulk-loaded into staging tables and merged with set-based SQL;
        unchanged residents are not written, so re-importing a file changes nothing.
        """
        if not batch:
            return UpsertCounts()
        for table in STAGING:
            await self.conn.run_sync(lambda sync, t=table: t.drop(sync, checkfirst=True))
            await self.conn.run_sync(table.create)
        await bulk.load(self.conn, STAGE, [_stage_row(r) for r in batch])
        await bulk.load(
            self.conn, STAGE_GROUPS, [(r.external_id, g) for r in batch for g in r.groups]
        )
        # The default order is implied by having no rows (most residents): see recipients.py.
        await bulk.load(
            self.conn,
            STAGE_CHANNELS,
            [
                (r.external_id, c, rank)
                for r in batch
                if r.channels != channels.DEFAULT_ORDER
                for rank, c in enumerate(r.channels, start=1)
            ],
        )
        stamp = literal(now, UTCDateTime)
        same = residents.c.external_id == STAGE.c.external_id
        # Said as IN as well, so SQLite looks residents up by the staged ids instead of
        # scanning the whole table for every batch.
        staged = residents.c.external_id.in_(select(STAGE.c.external_id))
        changed = set(
            (
                await self.conn.execute(
                    update(residents)
                    .where(
                        staged,
                        same,
                        or_(*(residents.c[c].is_distinct_from(STAGE.c[c]) for c in _COMPARED)),
                    )
                    .values(
                        {
                            **{c: STAGE.c[c] for c in (*_COMPARED, "phone_last4")},
                            "updated_at": stamp,
                        }
                    )
                    .returning(residents.c.id)
                )
            ).scalars()
        )
        names = [c.name for c in STAGE.columns]
        inserted = set(
            (
                await self.conn.execute(
                    residents.insert()
                    .from_select(
                        [*names, "created_at", "updated_at"],
                        select(*STAGE.columns, stamp, stamp).where(~exists().where(same)),
                    )
                    .returning(residents.c.id)
                )
            ).scalars()
        )
        changed |= await self._merge_lists(batch, stamp, inserted)
        updated = len(changed - inserted)
        return UpsertCounts(len(inserted), updated, len(batch) - len(inserted) - updated)

    async def _merge_lists(
        self, batch: Sequence[Resident], stamp: Any, inserted: set[int]
    ) -> set[int]:
        """New residents get their staged lists; existing ones are rewritten where they
        differ (and marked updated). Returns the ids of existing residents that changed."""
        id_of = dict(
            (
                await self.conn.execute(
                    select(residents.c.external_id, residents.c.id).where(
                        residents.c.external_id.in_(select(STAGE.c.external_id))
                    )
                )
            ).all()
        )
        existing = [i for i in id_of.values() if i not in inserted]
        differ: set[int] = set()
        if existing:
            groups = await self._held(resident_groups.c.group_code, existing)
            orders = await self._held(resident_channels.c.channel, existing)
            for r in batch:
                rid = id_of[r.external_id]
                if rid not in inserted and (
                    tuple(sorted(groups.get(rid, ()))) != r.groups
                    or tuple(orders.get(rid, channels.DEFAULT_ORDER)) != r.channels
                ):
                    differ.add(rid)
        await bulk.load(self.conn, STAGE_CHANGED, [(i,) for i in inserted | differ])
        ids = select(STAGE_CHANGED.c.id)
        if differ:
            await self.conn.execute(
                update(residents).where(residents.c.id.in_(ids)).values(updated_at=stamp)
            )
        for target, stage, columns in LISTS:
            if differ:
                await self.conn.execute(delete(target).where(target.c.resident_id.in_(ids)))
            await self.conn.execute(
                target.insert().from_select(
                    ["resident_id", *columns],
                    select(residents.c.id, *(stage.c[c] for c in columns))
                    .join(residents, residents.c.external_id == stage.c.external_id)
                    .where(residents.c.id.in_(ids)),
                )
            )
        return differ

    async def _held(self, column: Any, resident_ids: list[int]) -> dict[int, list[str]]:
        """Stored groups or channels (in rank order) of these residents."""
        table = column.table
        order = table.c.rank if "rank" in table.c else column
        held: dict[int, list[str]] = {}
        for rid, value in await self.conn.execute(
            select(table.c.resident_id, column)
            .where(table.c.resident_id.in_(resident_ids))
            .order_by(table.c.resident_id, order)
        ):
            held.setdefault(rid, []).append(value)
        return held

    async def _replace_lists(self, batch: Sequence[Resident], id_of: dict[str, int]) -> None:
        """Rewrite the groups and channel order of these residents."""
        resident_ids = list(id_of.values())
        await self.conn.execute(
            delete(resident_groups).where(resident_groups.c.resident_id.in_(resident_ids))
        )
        await self.conn.execute(
            delete(resident_channels).where(resident_channels.c.resident_id.in_(resident_ids))
        )
        group_rows = [
            {"resident_id": id_of[r.external_id], "group_code": g} for r in batch for g in r.groups
        ]
        # The default order is implied by having no rows (most residents): see recipients.py.
        channel_rows = [
            {"resident_id": id_of[r.external_id], "channel": c, "rank": rank}
            for r in batch
            if r.channels != channels.DEFAULT_ORDER
            for rank, c in enumerate(r.channels, start=1)
        ]
        if group_rows:
            await self.conn.execute(insert(resident_groups), group_rows)
        if channel_rows:
            await self.conn.execute(insert(resident_channels), channel_rows)

    async def get(self, resident_id: int) -> StoredResident | None:
        row = (
            (await self.conn.execute(select(residents).where(residents.c.id == resident_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return (await self._load([dict(row)]))[0]

    async def by_external_id(self, external_id: str) -> StoredResident | None:
        row = (
            (
                await self.conn.execute(
                    select(residents).where(residents.c.external_id == external_id)
                )
            )
            .mappings()
            .first()
        )
        return (await self._load([dict(row)]))[0] if row else None

    async def _load(self, rows: list[dict[str, Any]]) -> list[StoredResident]:
        ids = [row["id"] for row in rows]
        groups: dict[int, list[str]] = {i: [] for i in ids}
        for rid, code in await self.conn.execute(
            select(resident_groups.c.resident_id, resident_groups.c.group_code)
            .where(resident_groups.c.resident_id.in_(ids))
            .order_by(resident_groups.c.group_code)
        ):
            groups[rid].append(code)
        orders: dict[int, list[str]] = {}
        for rid, channel in await self.conn.execute(
            select(resident_channels.c.resident_id, resident_channels.c.channel)
            .where(resident_channels.c.resident_id.in_(ids))
            .order_by(resident_channels.c.rank)
        ):
            orders.setdefault(rid, []).append(channel)
        grades: dict[int, dict[str, Grade]] = {i: {} for i in ids}
        for rid, hazard, rank in await self.conn.execute(
            select(resident_hazard_grades).where(resident_hazard_grades.c.resident_id.in_(ids))
        ):
            grades[rid][hazard] = list(Grade)[rank - 1]
        optouts: dict[int, dict[str, datetime]] = {i: {} for i in ids}
        for rid, channel, at in await self.conn.execute(
            select(channel_optouts).where(channel_optouts.c.resident_id.in_(ids))
        ):
            optouts[rid][channel] = at
        return [
            StoredResident(
                id=row["id"],
                resident=Resident(
                    external_id=row["external_id"],
                    name=row["name"],
                    phone=row["phone"],
                    wechat_openid=row["wechat_openid"],
                    locale=row["locale"],
                    area_code=row["area_code"],
                    groups=tuple(groups[row["id"]]),
                    channels=tuple(orders.get(row["id"], channels.DEFAULT_ORDER)),
                    min_grade=list(Grade)[row["min_grade"] - 1],
                    test_recipient=row["test_recipient"],
                    consent_at=row["consent_at"],
                ),
                hazard_grades=grades[row["id"]],
                opted_out=optouts[row["id"]],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    async def search(
        self,
        *,
        scope: Iterable[str],
        area: str | None,
        group: str | None,
        phone_suffix: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[StoredResident], int]:
        """Residents within `scope`, filtered; ordered by id; and the total matching."""
        conditions = [under(scope)]
        if area is not None:
            conditions.append(under([area]))
        if group is not None:
            conditions.append(
                exists().where(
                    resident_groups.c.resident_id == residents.c.id,
                    resident_groups.c.group_code == group,
                )
            )
        if phone_suffix:
            conditions.append(residents.c.phone_last4 == phone_suffix[-4:])
            if len(phone_suffix) > 4:
                conditions.append(residents.c.phone.like(f"%{phone_suffix}"))
        where = and_(*conditions)
        total = (
            await self.conn.execute(select(func.count()).select_from(residents).where(where))
        ).scalar_one()
        rows = (
            (
                await self.conn.execute(
                    select(residents)
                    .where(where)
                    .order_by(residents.c.id)
                    .limit(limit)
                    .offset(offset)
                )
            )
            .mappings()
            .all()
        )
        return await self._load([dict(r) for r in rows]), int(total)

    async def add(self, resident: Resident, now: datetime) -> int | None:
        """Insert one resident; None if the external id is taken."""
        result = await self.conn.execute(
            self._insert()(residents)
            .values(_row(resident, now))
            .on_conflict_do_nothing(index_elements=[residents.c.external_id])
        )
        if result.rowcount == 0:
            return None
        stored = await self.by_external_id(resident.external_id)
        assert stored is not None
        await self._replace_lists([resident], {resident.external_id: stored.id})
        return stored.id

    async def replace(self, resident_id: int, resident: Resident, now: datetime) -> None:
        values = _row(resident, now)
        del values["created_at"]
        await self.conn.execute(
            update(residents).where(residents.c.id == resident_id).values(values)
        )
        await self._replace_lists([resident], {resident.external_id: resident_id})

    async def set_hazard_grades(self, resident_id: int, grades: dict[str, Grade | None]) -> None:
        """Per-hazard minimum grades; None removes an override."""
        for hazard, grade in grades.items():
            await self.conn.execute(
                delete(resident_hazard_grades).where(
                    resident_hazard_grades.c.resident_id == resident_id,
                    resident_hazard_grades.c.hazard == hazard,
                )
            )
            if grade is not None:
                await self.conn.execute(
                    insert(resident_hazard_grades).values(
                        resident_id=resident_id, hazard=hazard, min_grade=grade.rank
                    )
                )

    async def remove(self, resident_id: int) -> bool:
        result = await self.conn.execute(delete(residents).where(residents.c.id == resident_id))
        return bool(result.rowcount)

    async def opt_out(self, resident_id: int, channel: str, at: datetime) -> None:
        """Record an unsubscribe from `channel` (kept across re-imports)."""
        await self.conn.execute(
            self._insert()(channel_optouts)
            .values(resident_id=resident_id, channel=channel, at=at)
            .on_conflict_do_nothing(
                index_elements=[channel_optouts.c.resident_id, channel_optouts.c.channel]
            )
        )

    async def profiles(self, resident_ids: list[int]) -> dict[int, tuple[str, tuple[str, ...]]]:
        """Locale and groups of these residents: what their messages are rendered for."""
        locales = dict(
            (
                await self.conn.execute(
                    select(residents.c.id, residents.c.locale).where(
                        residents.c.id.in_(resident_ids)
                    )
                )
            ).all()
        )
        groups: dict[int, list[str]] = {i: [] for i in locales}
        for rid, code in await self.conn.execute(
            select(resident_groups.c.resident_id, resident_groups.c.group_code)
            .where(resident_groups.c.resident_id.in_(resident_ids))
            .order_by(resident_groups.c.group_code)
        ):
            groups[rid].append(code)
        return {rid: (locale, tuple(groups[rid])) for rid, locale in locales.items()}

    async def count(self) -> int:
        return int(
            (await self.conn.execute(select(func.count()).select_from(residents))).scalar_one()
        )

    async def by_phone(self, e164: str) -> list[int]:
        rows = await self.conn.execute(
            select(residents.c.id).where(
                residents.c.phone_last4 == e164[-4:], residents.c.phone == e164
            )
        )
        return [r[0] for r in rows]

    async def not_in_area(self, resident_ids: Sequence[int], area: str) -> list[int]:
        """Those of `resident_ids` that do not exist or do not live at or under `area`."""
        if not resident_ids:
            return []
        found = await self.conn.execute(
            select(residents.c.id).where(residents.c.id.in_(list(resident_ids)), under([area]))
        )
        return sorted(set(resident_ids) - set(found.scalars()))
