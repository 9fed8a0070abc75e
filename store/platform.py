"""What the broadcast platform reported: EBM states (EBMStateResponse) as they arrive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import broadcast_states


@dataclass(frozen=True)
class StateRow:
    ebm_id: str
    code: int
    description: str
    coverage_rate: float | None
    coverage_areas: tuple[str, ...]
    reported_at: datetime | None
    received_at: datetime


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
