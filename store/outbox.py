"""Outbox rows: written in the same transaction as the state change they announce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import outbox

ISSUED_EVENT = "issued"  # a version was issued: plan its officers and loudspeakers first
RESIDENTS_EVENT = "plan_residents"  # a version's second planning step (a slice of residents)


class OutboxRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(
        self,
        warning_id: int,
        version: int,
        event: str,
        now: datetime,
        after_id: int | None = None,
    ) -> None:
        """`after_id`: a residents' slice after the first (the last resident id planned)."""
        await self.conn.execute(
            insert(outbox).values(
                warning_id=warning_id,
                version=version,
                event=event,
                created_at=now,
                after_id=after_id,
            )
        )

    async def pending(self) -> list[tuple[int, int, str]]:
        """(warning id, version, event) of rows not yet processed, oldest first."""
        rows = await self.conn.execute(
            select(outbox.c.warning_id, outbox.c.version, outbox.c.event)
            .where(outbox.c.processed_at.is_(None))
            .order_by(outbox.c.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]
