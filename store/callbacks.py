"""Provider status callbacks as they arrived, until the receipts loop has applied them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import deliveries, provider_callbacks

pending = provider_callbacks.c.processed_at.is_(None)


@dataclass(frozen=True)
class Callback:
    """One status callback: `provider_id` is the provider's id of the message."""

    provider: str
    provider_id: str
    status: str
    error_code: str | None
    received_at: datetime
    id: int = 0


class CallbackRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, callbacks: list[Callback]) -> None:
        """Store callbacks as they arrived (one statement for all of them)."""
        if callbacks:
            await self.conn.execute(
                insert(provider_callbacks),
                [
                    {
                        "provider": c.provider,
                        "provider_id": c.provider_id,
                        "status": c.status,
                        "error_code": c.error_code,
                        "received_at": c.received_at,
                    }
                    for c in callbacks
                ],
            )

    async def ready(self, provider: str, given_up_before: datetime, limit: int) -> list[Callback]:
        """The oldest callbacks not yet applied whose message's send result is stored, or
        that arrived before `given_up_before` (they are for no send of ours). Held until
        commit; on PostgreSQL another process's receipts loop skips them."""
        query = (
            select(provider_callbacks)
            .where(
                pending,
                provider_callbacks.c.provider == provider,
                or_(
                    exists().where(deliveries.c.provider_id == provider_callbacks.c.provider_id),
                    provider_callbacks.c.received_at < given_up_before,
                ),
            )
            .order_by(provider_callbacks.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=provider_callbacks)
        )
        return [
            Callback(r.provider, r.provider_id, r.status, r.error_code, r.received_at, r.id)
            for r in await self.conn.execute(query)
        ]

    async def processed(self, outcomes: dict[int, str], now: datetime) -> None:
        """Stamp callbacks as applied, each with what became of it."""
        if outcomes:
            await self.conn.execute(
                update(provider_callbacks)
                .where(provider_callbacks.c.id == bindparam("b_id"))
                .values(processed_at=now, outcome=bindparam("b_outcome")),
                [{"b_id": i, "b_outcome": outcome} for i, outcome in outcomes.items()],
            )

    async def waiting(self) -> int:
        """How many callbacks are stored and not yet applied."""
        found = await self.conn.execute(
            select(func.count()).select_from(provider_callbacks).where(pending)
        )
        return int(found.scalar_one())
