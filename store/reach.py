"""Reach: recording who a warning version reached, and the aggregates coverage needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, cast, distinct, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from reach import rules
from reach.coverage import AreaReach, Step, spread, town_shares
from store.dialect import insert_for
from store.progress import lost
from store.recipients import terminal_population
from store.tables import (
    area_closure,
    areas,
    deliveries,
    delivery_events,
    reach,
    relay_reports,
    resident_groups,
    residents,
    terminals,
    warning_versions,
)


@dataclass(frozen=True)
class RelayReport:
    id: int
    warning_id: int
    version: int
    area_code: str
    officer: str
    households: int
    residents: int
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class Breakdown:
    """Residents a version planned and reached, for one group or one channel."""

    key: str
    planned: int
    reached: int


class ReachRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _insert(self) -> Any:
        return insert_for(self.conn)

    async def record(self, delivery_ids: Sequence[int], event: str, at: datetime) -> None:
        """Residents whose delivery `event` shows they were reached (reach/rules.py), once
        per person, version and way."""
        if event not in rules.REACHING or not delivery_ids:
            return
        channels = rules.reaching_channels(event)
        which = [
            deliveries.c.id.in_(list(delivery_ids)),
            deliveries.c.recipient_kind == "resident",
        ]
        if channels is not None:
            which.append(deliveries.c.channel.in_(sorted(channels)))
        found = (
            await self.conn.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.warning_id,
                    deliveries.c.version,
                    deliveries.c.recipient_id,
                    deliveries.c.channel,
                ).where(*which)
            )
        ).all()
        # A resident's recipient_id is their id as text; nothing else is joined on it.
        people = {int(r.recipient_id) for r in found if r.recipient_id.isdigit()}
        if not people:
            return
        area_of = dict(
            (
                await self.conn.execute(
                    select(residents.c.id, residents.c.area_code).where(
                        residents.c.id.in_(sorted(people))
                    )
                )
            ).all()
        )
        rows = {}
        for r in found:
            resident = int(r.recipient_id) if r.recipient_id.isdigit() else None
            if resident not in area_of:
                continue  # deleted since the send
            way = rules.ACK if event == "acknowledged" else r.channel
            rows[(r.warning_id, r.version, resident, way)] = {
                "warning_id": r.warning_id,
                "version": r.version,
                "resident_id": resident,
                "area_code": area_of[resident],
                "via": way,
                "at": at,
                "delivery_id": r.id,
            }
        if rows:  # every one deleted since the send: nothing to count (and no empty INSERT)
            await self.conn.execute(
                self._insert()(reach).on_conflict_do_nothing(), list(rows.values())
            )

    async def add_relay(
        self,
        warning_id: int,
        version: int,
        area_code: str,
        officer: str,
        households: int,
        resident_ids: Sequence[int],
        note: str | None,
        now: datetime,
    ) -> RelayReport:
        """Store an officer's relay report; the residents it names count as reached."""
        relay_id = (
            await self.conn.execute(
                relay_reports.insert()
                .values(
                    warning_id=warning_id,
                    version=version,
                    area_code=area_code,
                    officer=officer,
                    households=households,
                    residents=len(resident_ids),
                    note=note,
                    created_at=now,
                )
                .returning(relay_reports.c.id)
            )
        ).scalar_one()
        if resident_ids:
            await self.conn.execute(
                self._insert()(reach)
                .from_select(
                    ["warning_id", "version", "resident_id", "area_code", "via", "at", "relay_id"],
                    select(
                        literal(warning_id),
                        literal(version),
                        residents.c.id,
                        residents.c.area_code,
                        literal(rules.RELAY),
                        literal(now, reach.c.at.type),
                        literal(relay_id),
                    ).where(residents.c.id.in_(list(resident_ids))),
                )
                .on_conflict_do_nothing()
            )
        return RelayReport(
            relay_id,
            warning_id,
            version,
            area_code,
            officer,
            households,
            len(resident_ids),
            note,
            now,
        )

    async def relays(self, warning_id: int, version: int) -> list[RelayReport]:
        rows = await self.conn.execute(
            select(relay_reports)
            .where(relay_reports.c.warning_id == warning_id, relay_reports.c.version == version)
            .order_by(relay_reports.c.id)
        )
        return [
            RelayReport(
                r.id,
                r.warning_id,
                r.version,
                r.area_code,
                r.officer,
                r.households,
                r.residents,
                r.note,
                r.created_at,
            )
            for r in rows
        ]

    async def leaf_areas(self, targets: Sequence[str]) -> list[tuple[str, str, int, int]]:
        """(code, name, population, households) of the areas at or under `targets` that
        have no areas under them: the units coverage is counted in."""
        child = areas.alias("child")
        rows = await self.conn.execute(
            select(areas.c.code, areas.c.name, areas.c.population, areas.c.households)
            .where(
                exists().where(
                    area_closure.c.descendant == areas.c.code,
                    area_closure.c.ancestor.in_(list(targets)),
                ),
                ~exists().where(child.c.parent_code == areas.c.code),
            )
            .order_by(areas.c.code)
        )
        return [(r.code, r.name, int(r.population), int(r.households)) for r in rows]

    async def per_area(
        self,
        warning_id: int,
        version: int,
        units: list[tuple[str, str, int, int]],
        towns: dict[str, str],
    ) -> list[AreaReach]:
        """The figures of each unit area for this version, each counted in one query."""
        of_version = (reach.c.warning_id == warning_id, reach.c.version == version)
        individual = dict(
            (
                await self.conn.execute(
                    select(reach.c.area_code, func.count(distinct(reach.c.resident_id)))
                    .where(*of_version)
                    .group_by(reach.c.area_code)
                )
            ).all()
        )
        relayed = dict(
            (
                await self.conn.execute(
                    select(relay_reports.c.area_code, func.sum(relay_reports.c.households))
                    .where(
                        relay_reports.c.warning_id == warning_id,
                        relay_reports.c.version == version,
                    )
                    .group_by(relay_reports.c.area_code)
                )
            ).all()
        )
        codes = [u[0] for u in units]
        shares = town_shares(units, towns)
        installed: dict[str, list[tuple[str, int]]] = {}  # in the village itself
        from_town: dict[str, list[tuple[str, int]]] = {}  # its share of its town's
        for tid, area, covered in await self.conn.execute(
            select(terminals.c.id, terminals.c.area_code, terminal_population())
            .select_from(terminals.join(areas, areas.c.code == terminals.c.area_code))
            .where(terminals.c.area_code.in_([*codes, *shares]))
        ):
            if area in shares and area not in codes:
                for village, part in spread(int(covered or 0), shares[area]):
                    from_town.setdefault(village, []).append((tid, part))
            else:
                installed.setdefault(area, []).append((tid, int(covered or 0)))
        played = set((await self.conn.execute(self._played(warning_id, version))).scalars())
        unreachable = dict((await self.conn.execute(self._unreachable(warning_id, version))).all())
        found = []
        for code, name, population, households in units:
            here = installed.get(code, [])
            broadcast = sum(
                covered for tid, covered in [*here, *from_town.get(code, [])] if tid in played
            )
            found.append(
                AreaReach(
                    code=code,
                    name=name,
                    town=towns.get(code, code),
                    population=population,
                    households=households,
                    individual=int(individual.get(code, 0)),
                    broadcast=broadcast,
                    relayed_households=int(relayed.get(code) or 0),
                    terminals=len(here),
                    terminals_played=sum(1 for tid, _ in here if tid in played),
                    unreachable=int(unreachable.get(code, 0)),
                )
            )
        return found

    def _played(self, warning_id: int, version: int) -> Any:
        """Terminals that acknowledged playing this version (any repeat)."""
        return (
            select(deliveries.c.recipient_id)
            .distinct()
            .select_from(
                deliveries.join(delivery_events, delivery_events.c.delivery_id == deliveries.c.id)
            )
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "terminal",
                delivery_events.c.event == "played",
            )
        )

    def _unreachable(self, warning_id: int, version: int) -> Any:
        """Per area: residents nothing reached and nothing can still reach."""
        return (
            select(residents.c.area_code, func.count())
            .where(residents.c.id.in_(lost(warning_id, version)))
            .group_by(residents.c.area_code)
        )

    async def by_group(self, warning_id: int, version: int) -> list[Breakdown]:
        """Per population group: residents the version planned, and those it reached."""
        planned = (
            select(
                resident_groups.c.group_code,
                func.count(distinct(resident_groups.c.resident_id)),
            )
            .select_from(
                deliveries.join(
                    resident_groups,
                    resident_groups.c.resident_id == cast(deliveries.c.recipient_id, Integer),
                )
            )
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "resident",
            )
            .group_by(resident_groups.c.group_code)
        )
        reached = (
            select(resident_groups.c.group_code, func.count(distinct(reach.c.resident_id)))
            .select_from(
                reach.join(resident_groups, resident_groups.c.resident_id == reach.c.resident_id)
            )
            .where(reach.c.warning_id == warning_id, reach.c.version == version)
            .group_by(resident_groups.c.group_code)
        )
        return _breakdown(
            dict((await self.conn.execute(planned)).all()),
            dict((await self.conn.execute(reached)).all()),
        )

    async def by_channel(self, warning_id: int, version: int) -> list[Breakdown]:
        """Per channel (and `ack`, `relay`): residents sent on it, and those reached by it."""
        planned = (
            select(deliveries.c.channel, func.count(distinct(deliveries.c.recipient_id)))
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "resident",
                deliveries.c.channel != "none",
            )
            .group_by(deliveries.c.channel)
        )
        reached = (
            select(reach.c.via, func.count())
            .where(reach.c.warning_id == warning_id, reach.c.version == version)
            .group_by(reach.c.via)
        )
        return _breakdown(
            dict((await self.conn.execute(planned)).all()),
            dict((await self.conn.execute(reached)).all()),
        )

    async def steps(self, warning_id: int, version: int, issued_at: datetime) -> list[Step]:
        """Reach gained per area and second after the issue: residents' first reach,
        terminals' first playback, relay reports."""
        start = _epoch(self.conn, literal(issued_at, reach.c.at.type))
        first = (
            select(
                reach.c.resident_id,
                func.min(reach.c.area_code).label("area_code"),
                func.min(reach.c.at).label("at"),
            )
            .where(reach.c.warning_id == warning_id, reach.c.version == version)
            .group_by(reach.c.resident_id)
            .subquery()
        )
        second = (_epoch(self.conn, first.c.at) - start).label("second")
        found = [
            Step(max(0, int(s)), area, individual=int(n))
            for area, s, n in await self.conn.execute(
                select(first.c.area_code, second, func.count()).group_by(first.c.area_code, second)
            )
        ]
        played_at = (
            select(
                terminals.c.area_code,
                terminal_population().label("covered"),
                func.min(delivery_events.c.at).label("at"),
            )
            .select_from(
                deliveries.join(delivery_events, delivery_events.c.delivery_id == deliveries.c.id)
                .join(terminals, terminals.c.id == deliveries.c.recipient_id)
                .join(areas, areas.c.code == terminals.c.area_code)
            )
            .where(
                deliveries.c.warning_id == warning_id,
                deliveries.c.version == version,
                deliveries.c.recipient_kind == "terminal",
                delivery_events.c.event == "played",
            )
            .group_by(
                terminals.c.id,
                terminals.c.area_code,
                terminals.c.covered_population,
                areas.c.population,
            )
        )
        for r in await self.conn.execute(played_at):
            found.append(
                Step(_seconds(r.at, issued_at), r.area_code, broadcast=int(r.covered or 0))
            )
        for relay in await self.relays(warning_id, version):
            found.append(
                Step(
                    _seconds(relay.created_at, issued_at),
                    relay.area_code,
                    relayed_households=relay.households,
                )
            )
        return sorted(found, key=lambda s: s.second)

    async def actual_warnings_issued(self, start: datetime, end: datetime) -> list[int]:
        """Warnings (mode actual) first issued in [start, end), oldest first."""
        first = func.min(warning_versions.c.issued_at)
        rows = await self.conn.execute(
            select(warning_versions.c.warning_id)
            .where(warning_versions.c.mode == "actual", warning_versions.c.issued_at.is_not(None))
            .group_by(warning_versions.c.warning_id)
            .having(and_(first >= start, first < end))
            .order_by(first)
        )
        return [int(r[0]) for r in rows]


def _breakdown(planned: dict[str, int], reached: dict[str, int]) -> list[Breakdown]:
    return [
        Breakdown(key, int(planned.get(key, 0)), int(reached.get(key, 0)))
        for key in sorted(set(planned) | set(reached))
    ]


def _seconds(at: datetime, since: datetime) -> int:
    return max(0, int((at - since).total_seconds()))


def _epoch(conn: AsyncConnection, value: Any) -> Any:
    """Whole seconds since 1970 of a stored time, in either dialect."""
    if conn.dialect.name == "postgresql":
        return func.floor(func.extract("epoch", value))
    return cast(func.strftime("%s", value), Integer)
