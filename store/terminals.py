"""Broadcast terminals: load from CSV, list with their covered population."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.dialect import insert_for
from store.recipients import terminal_population
from store.tables import area_closure, areas, terminals
from subscribers.terminals import Terminal


@dataclass(frozen=True)
class TerminalView:
    terminal: Terminal
    population: int  # covered population in force (own figure or the area's share)
    last_heartbeat_at: datetime | None


class TerminalRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def upsert(self, rows: Iterable[Terminal]) -> int:
        values = [
            {
                "id": t.id,
                "name": t.name,
                "area_code": t.area_code,
                "endpoint_id": t.endpoint_id,
                "covered_population": t.covered_population,
                "status": t.status,
            }
            for t in rows
        ]
        if not values:
            return 0
        insert = insert_for(self.conn)
        statement = insert(terminals).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[terminals.c.id],
            set_={
                c: statement.excluded[c]
                for c in ("name", "area_code", "endpoint_id", "covered_population", "status")
            },
        )
        await self.conn.execute(statement)
        return len(values)

    async def count_by_status(self) -> dict[str, int]:
        """How many terminals are in each status (online, offline, fault)."""
        rows = await self.conn.execute(
            select(terminals.c.status, func.count()).group_by(terminals.c.status)
        )
        return {status: int(count) for status, count in rows}

    async def set_status(self, by_endpoint: Mapping[str, str], now: datetime) -> list[str]:
        """The platform's word on terminals (endpoint id → online/offline); the ids of the
        terminals it named that ewb knows, heard from at `now`."""
        known = []
        for endpoint, status in by_endpoint.items():
            result = await self.conn.execute(
                update(terminals)
                .where(terminals.c.endpoint_id == endpoint)
                .values(status=status, last_heartbeat_at=now)
                .returning(terminals.c.id)
            )
            known.extend(row.id for row in result)
        return known

    async def under(self, scope: Iterable[str]) -> list[TerminalView]:
        """Terminals in or under the given areas, by id."""
        rows = await self.conn.execute(
            select(terminals, terminal_population().label("population"))
            .select_from(terminals.join(areas, areas.c.code == terminals.c.area_code))
            .where(
                exists().where(
                    area_closure.c.descendant == terminals.c.area_code,
                    area_closure.c.ancestor.in_(list(scope)),
                )
            )
            .order_by(terminals.c.id)
        )
        return [
            TerminalView(
                Terminal(r.id, r.name, r.area_code, r.endpoint_id, r.covered_population, r.status),
                int(r.population or 0),
                r.last_heartbeat_at,
            )
            for r in rows
        ]

    async def areas_of(self, terminal_ids: list[str]) -> dict[str, str]:
        """The area code of each of these terminals."""
        rows = await self.conn.execute(
            select(terminals.c.id, terminals.c.area_code).where(terminals.c.id.in_(terminal_ids))
        )
        return {r.id: r.area_code for r in rows}
