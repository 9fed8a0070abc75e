"""The planner's SQL: matched residents and the one channel each gets, set-based.

`plan(spec)` is a SELECT of (resident_id, area_code, channel), channel NULL for people no
personal channel can reach. The audience forecast aggregates it; delivery inserts from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from store.residents import under
from store.tables import (
    area_closure,
    areas,
    channel_optouts,
    resident_channels,
    resident_groups,
    resident_hazard_grades,
    residents,
    terminals,
)
from subscribers.channels import CHANNELS
from subscribers.segmentation import Audience, AudienceSpec

# Ranks of channels a person did not list: after every listed one (ranks 1..n).
UNLISTED = 100


def _matched(spec: AudienceSpec, after: int | None, upto: int | None) -> Select[Any]:
    conditions = [under(spec.areas)]
    if after is not None:
        conditions.append(residents.c.id > after)
    if upto is not None:
        conditions.append(residents.c.id <= upto)
    if spec.groups:
        conditions.append(
            exists().where(
                resident_groups.c.resident_id == residents.c.id,
                resident_groups.c.group_code.in_(sorted(spec.groups)),
            )
        )
    if spec.refusable:
        override = (
            select(resident_hazard_grades.c.min_grade)
            .where(
                resident_hazard_grades.c.resident_id == residents.c.id,
                resident_hazard_grades.c.hazard == spec.hazard,
            )
            .scalar_subquery()
        )
        conditions.append(func.coalesce(override, residents.c.min_grade) <= spec.grade.rank)
    if spec.test_only:
        conditions.append(residents.c.test_recipient.is_(True))
    return select(
        residents.c.id, residents.c.area_code, residents.c.phone, residents.c.wechat_openid
    ).where(*conditions)


def plan(spec: AudienceSpec, after: int | None = None, upto: int | None = None) -> Select[Any]:
    """(resident_id, area_code, channel) for every matched resident, once each; with
    `after`/`upto`, only those whose id is in that slice."""
    matched = _matched(spec, after, upto).cte("matched")
    defaults = union_all(
        *(
            select(literal(c.id).label("channel"), literal(n).label("default_rank"))
            for n, c in enumerate(CHANNELS, start=1)
        )
    ).cte("channel_defaults")
    rank = func.coalesce(resident_channels.c.rank, UNLISTED + defaults.c.default_rank)
    usable = [
        or_(
            *(and_(defaults.c.channel == c.id, matched.c[c.address].is_not(None)) for c in CHANNELS)
        ),
        not_(
            exists().where(
                channel_optouts.c.resident_id == matched.c.id,
                channel_optouts.c.channel == defaults.c.channel,
            )
        ),
    ]
    voice_only = [c.id for c in CHANNELS if c.voice_only]
    if voice_only and spec.no_voice_only_groups:
        usable.append(
            not_(
                and_(
                    defaults.c.channel.in_(voice_only),
                    exists().where(
                        resident_groups.c.resident_id == matched.c.id,
                        resident_groups.c.group_code.in_(sorted(spec.no_voice_only_groups)),
                    ),
                )
            )
        )
    candidates = (
        select(
            matched.c.id.label("resident_id"),
            defaults.c.channel,
            func.row_number().over(partition_by=matched.c.id, order_by=rank).label("n"),
        )
        .select_from(
            matched.join(defaults, true()).outerjoin(
                resident_channels,
                and_(
                    resident_channels.c.resident_id == matched.c.id,
                    resident_channels.c.channel == defaults.c.channel,
                ),
            )
        )
        .where(*usable)
        .cte("candidates")
    )
    return select(
        matched.c.id.label("resident_id"), matched.c.area_code, candidates.c.channel
    ).select_from(
        matched.outerjoin(
            candidates, and_(candidates.c.resident_id == matched.c.id, candidates.c.n == 1)
        )
    )


class RecipientRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def audience(self, spec: AudienceSpec) -> Audience:
        """Aggregate the plan: people per area, group and channel, terminals, unreachable."""
        planned = Table(
            "planned_audience",
            MetaData(),
            Column("resident_id", Integer),
            Column("area_code", String(20)),
            Column("channel", String(20)),
            prefixes=["TEMPORARY"],
        )
        await self.conn.run_sync(lambda sync: planned.drop(sync, checkfirst=True))
        await self.conn.run_sync(planned.create)
        try:
            await self.conn.execute(
                planned.insert().from_select(["resident_id", "area_code", "channel"], plan(spec))
            )
            return await self._aggregate(planned, spec)
        finally:
            await self.conn.run_sync(planned.drop)

    async def _aggregate(self, planned: Table, spec: AudienceSpec) -> Audience:
        result = Audience()
        unreached = case((planned.c.channel.is_(None), 1), else_=0)
        for channel, count in await self.conn.execute(
            select(planned.c.channel, func.count()).group_by(planned.c.channel)
        ):
            if channel is None:
                result.unreachable = count
            else:
                result.by_channel[channel] = count
        result.people = result.unreachable + sum(result.by_channel.values())
        # Count per home area first (a few hundred rows), then roll up to the named areas.
        per_home = (
            select(
                planned.c.area_code, func.count().label("people"), func.sum(unreached).label("lost")
            )
            .group_by(planned.c.area_code)
            .subquery()
        )
        for code, count, lost in await self.conn.execute(
            select(area_closure.c.ancestor, func.sum(per_home.c.people), func.sum(per_home.c.lost))
            .select_from(
                per_home.join(area_closure, area_closure.c.descendant == per_home.c.area_code)
            )
            .where(area_closure.c.ancestor.in_(spec.areas))
            .group_by(area_closure.c.ancestor)
        ):
            result.by_area[code] = int(count)
            result.unreachable_by_area[code] = int(lost or 0)
        for group, count in await self.conn.execute(
            select(resident_groups.c.group_code, func.count())
            .select_from(
                planned.join(
                    resident_groups, resident_groups.c.resident_id == planned.c.resident_id
                )
            )
            .group_by(resident_groups.c.group_code)
        ):
            result.by_group[group] = count
        if spec.no_voice_only_groups:
            result.unreachable_no_voice = (
                await self.conn.execute(
                    select(func.count())
                    .select_from(planned)
                    .where(
                        planned.c.channel.is_(None),
                        exists().where(
                            resident_groups.c.resident_id == planned.c.resident_id,
                            resident_groups.c.group_code.in_(sorted(spec.no_voice_only_groups)),
                        ),
                    )
                )
            ).scalar_one()
        await self._terminals(spec, result)
        return result

    async def _terminals(self, spec: AudienceSpec, result: Audience) -> None:
        row = (
            await self.conn.execute(
                select(
                    func.count(),
                    func.sum(case((terminals.c.status == "online", 1), else_=0)),
                    func.sum(terminal_population()),
                )
                .select_from(terminals.join(areas, areas.c.code == terminals.c.area_code))
                .where(
                    exists().where(
                        area_closure.c.descendant == terminals.c.area_code,
                        area_closure.c.ancestor.in_(spec.areas),
                    )
                )
            )
        ).one()
        result.terminals = int(row[0])
        result.terminals_online = int(row[1] or 0)
        result.terminal_population = int(row[2] or 0)


def terminal_population() -> Any:
    """A terminal's covered population: its own figure, else an equal share of its area's
    among the terminals in or under that area (a town-level loudspeaker without a figure
    shares its town with the villages' own)."""
    peer = terminals.alias("peer")
    per_area = (
        select(func.count())
        .select_from(peer.join(area_closure, area_closure.c.descendant == peer.c.area_code))
        .where(area_closure.c.ancestor == terminals.c.area_code)
        .scalar_subquery()
    )
    return func.coalesce(
        terminals.c.covered_population, areas.c.population // func.nullif(per_area, 0)
    )
