"""What the timers look for: loudspeaker repeats due, officers to remind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import deliveries, warning_versions


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
            .join(
                warning_versions,
                and_(
                    warning_versions.c.warning_id == deliveries.c.warning_id,
                    warning_versions.c.number == deliveries.c.version,
                ),
            )
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
