"""What the broadcast platform reported (EBM states, as they arrive), which EBMs still wait
for a final state, and the heartbeat link to the platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.dialect import insert_for
from store.tables import broadcast_states, deliveries, platform_link


@dataclass(frozen=True)
class StateRow:
    ebm_id: str
    code: int
    description: str
    coverage_rate: float | None
    coverage_areas: tuple[str, ...]
    reported_at: datetime | None
    received_at: datetime


@dataclass(frozen=True)
class Link:
    last_beat_at: datetime | None
    last_answer_at: datetime | None
    missed: int  # beats in a row without an answer


class PlatformRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add_state(self, row: StateRow) -> None:
        await self.conn.execute(
            insert(broadcast_states).values(
                ebm_id=row.ebm_id,
                code=row.code,
                description=row.description[:200],
                coverage_rate=row.coverage_rate,
                coverage_areas=",".join(row.coverage_areas)[:2000],
                reported_at=row.reported_at,
                received_at=row.received_at,
            )
        )

    async def unconfirmed(
        self, sent_before: datetime, sent_after: datetime, limit: int
    ) -> list[str]:
        """EBMIDs of loudspeaker deliveries accepted in (sent_after, sent_before] whose
        playback no report has settled yet (still `sent`), oldest first."""
        rows = await self.conn.execute(
            select(deliveries.c.provider_id)
            .where(
                deliveries.c.channel == "broadcast",
                deliveries.c.state == "sent",
                deliveries.c.provider_id.is_not(None),
                deliveries.c.updated_at <= sent_before,
                deliveries.c.updated_at > sent_after,
            )
            .group_by(deliveries.c.provider_id)
            .order_by(func.min(deliveries.c.updated_at))
            .limit(limit)
        )
        return [r[0] for r in rows]

    async def beat(self, now: datetime, answered: bool) -> Link:
        """Record a heartbeat and whether the platform answered it; the link after it."""
        insert = insert_for(self.conn)
        await self.conn.execute(
            insert(platform_link).values(id=1, missed=0).on_conflict_do_nothing()
        )
        values: dict[str, object] = {"last_beat_at": now}
        if answered:
            values.update(last_answer_at=now, missed=0)
        else:
            values["missed"] = platform_link.c.missed + 1
        await self.conn.execute(update(platform_link).where(platform_link.c.id == 1).values(values))
        return await self.link()

    async def link(self) -> Link:
        row = (
            await self.conn.execute(select(platform_link).where(platform_link.c.id == 1))
        ).first()
        if row is None:
            return Link(None, None, 0)
        return Link(row.last_beat_at, row.last_answer_at, row.missed)

    async def states(self, ebm_id: str) -> list[StateRow]:
        """Every report on this EBM, oldest first."""
        rows = await self.conn.execute(
            select(broadcast_states)
            .where(broadcast_states.c.ebm_id == ebm_id)
            .order_by(broadcast_states.c.id)
        )
        return [
            StateRow(
                r.ebm_id,
                r.code,
                r.description,
                r.coverage_rate,
                tuple(code for code in r.coverage_areas.split(",") if code),
                r.reported_at,
                r.received_at,
            )
            for r in rows
        ]
