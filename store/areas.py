"""The area tree: load divisions, read the tree for scope checks."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import areas
from warning.areas import Area, AreaTree


class AreaRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def upsert(self, rows: Iterable[Area]) -> int:
        """Insert or update areas by code; returns how many rows were written."""
        values = [
            {"code": a.code, "name": a.name, "parent_code": a.parent, "level": a.level}
            for a in rows
        ]
        if not values:
            return 0
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        statement = insert(areas).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[areas.c.code],
            set_={c: statement.excluded[c] for c in ("name", "parent_code", "level")},
        )
        await self.conn.execute(statement)
        return len(values)

    async def tree(self) -> AreaTree:
        rows = await self.conn.execute(select(areas))
        return AreaTree(
            Area(code=r.code, name=r.name, parent=r.parent_code, level=r.level) for r in rows
        )

    async def count(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(areas))).scalar_one())
