"""The area tree: load divisions and population figures, keep the closure table, read."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store import sequences
from store.dialect import analyze, insert_for
from store.tables import area_closure, areas
from subscribers.areas import AreaFigures, Population, derive_totals
from subscribers.names import english_name
from warning.areas import Area, AreaTree

# The area tree's revision: moved on by every change of names, parents or figures, so that
# a process's cached rules (store/db.py) are re-read after any process changed the tree.
REVISION = "areas"


class AreaRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.changed = False  # this transaction changed the tree (not yet committed)

    async def revision(self) -> int:
        return await sequences.value(self.conn, REVISION)

    async def _changed(self) -> None:
        if not self.changed:
            await sequences.next_value(self.conn, REVISION)
            self.changed = True

    async def upsert(self, rows: Iterable[Area]) -> int:
        """Insert or update areas by code, then rebuild the closure; returns rows written."""
        values = [
            {"code": a.code, "name": a.name, "parent_code": a.parent, "level": a.level}
            for a in rows
        ]
        if not values:
            return 0
        insert = insert_for(self.conn)
        statement = insert(areas).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[areas.c.code],
            set_={c: statement.excluded[c] for c in ("name", "parent_code", "level")},
        )
        await self.conn.execute(statement)
        await self.rebuild_closure()
        return len(values)

    async def rebuild_closure(self) -> None:
        """Every (ancestor, descendant, depth) of the tree, computed by a recursive query."""
        await self.conn.execute(delete(area_closure))
        await self.conn.execute(
            text(
                "INSERT INTO area_closure (ancestor, descendant, depth) "
                "WITH RECURSIVE up(ancestor, descendant, depth) AS ("
                " SELECT code, code, 0 FROM areas"
                " UNION ALL"
                " SELECT a.parent_code, up.descendant, up.depth + 1 FROM up"
                " JOIN areas a ON a.code = up.ancestor"
                " WHERE a.parent_code IN (SELECT code FROM areas)"
                ") SELECT ancestor, descendant, depth FROM up"
            )
        )
        await analyze(self.conn, areas, area_closure)  # every plan joins them
        await self._changed()

    async def set_population(self, figures: Iterable[Population]) -> int:
        """Store figures for the given areas, then re-derive parents not given explicitly."""
        given = {f.code: f for f in figures}
        await self._changed()
        for f in given.values():
            await self.conn.execute(
                update(areas)
                .where(areas.c.code == f.code)
                .values(
                    population=f.population, households=f.households, population_source=f.source
                )
            )
        for d in derive_totals(await self.figures(), set(given)):
            await self.conn.execute(
                update(areas)
                .where(areas.c.code == d.code)
                .values(
                    population=d.population,
                    households=d.households,
                    population_source=d.population_source,
                )
            )
        return len(given)

    async def tree(self) -> AreaTree:
        rows = await self.conn.execute(
            select(areas.c.code, areas.c.name, areas.c.parent_code, areas.c.level)
        )
        return AreaTree(
            Area(
                code=r.code,
                name=r.name,
                parent=r.parent_code,
                level=r.level,
                name_en=english_name(r.name),
            )
            for r in rows
        )

    async def figures(self, codes: Iterable[str] | None = None) -> list[AreaFigures]:
        query = select(areas).order_by(areas.c.code)
        if codes is not None:
            query = query.where(areas.c.code.in_(list(codes)))
        return [
            AreaFigures(
                code=r.code,
                name=r.name,
                parent=r.parent_code,
                level=r.level,
                population=r.population,
                households=r.households,
                population_source=r.population_source,
            )
            for r in await self.conn.execute(query)
        ]

    async def count(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(areas))).scalar_one())
