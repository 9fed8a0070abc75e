"""The audit log repository: append entries to the hash chain, read and verify it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import audit_head, audit_log
from warning import audit
from warning.audit import AuditEntry


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        warning_id=row["warning_id"],
        version=row["version"],
        outcome=row["outcome"],
        details=row["details"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


class AuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        warning_id: int | None,
        version: int | None,
        outcome: str,
        details: Mapping[str, Any],
    ) -> AuditEntry:
        """Add an entry after the chain's head; the head row is locked until commit."""
        head = (
            await self.conn.execute(
                select(audit_head.c.seq, audit_head.c.hash)
                .where(audit_head.c.id == 1)
                .with_for_update()
            )
        ).one()
        entry = audit.next_entry(
            (head.seq, head.hash),
            at=at,
            actor=actor,
            action=action,
            warning_id=warning_id,
            version=version,
            outcome=outcome,
            details=details,
        )
        await self.conn.execute(
            insert(audit_log).values(
                seq=entry.seq,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                warning_id=entry.warning_id,
                version=entry.version,
                outcome=entry.outcome,
                details=dict(entry.details),
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        )
        await self.conn.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=entry.seq, hash=entry.hash)
        )
        return entry

    async def head(self) -> tuple[int, str] | None:
        """The (seq, hash) recorded for the newest entry; None if the head row is gone."""
        row = (
            await self.conn.execute(
                select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
            )
        ).one_or_none()
        return (row.seq, row.hash) if row is not None else None

    async def entries(
        self,
        *,
        warning_id: int | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        query = select(audit_log).where(audit_log.c.seq > after)
        if warning_id is not None:
            query = query.where(audit_log.c.warning_id == warning_id)
        rows = (await self.conn.execute(query.order_by(audit_log.c.seq).limit(limit))).mappings()
        return [_entry(row) for row in rows]

    async def count(self, *, actor: str, action: str, outcome: str, since: datetime) -> int:
        """How many entries of this actor, action and outcome are at or after `since`."""
        query = select(func.count()).where(
            audit_log.c.actor == actor,
            audit_log.c.action == action,
            audit_log.c.outcome == outcome,
            audit_log.c.at >= since,
        )
        return int((await self.conn.execute(query)).scalar_one())

    async def all_entries(self, page: int = 5000) -> AsyncIterator[AuditEntry]:
        """Every entry in seq order, fetched a page at a time."""
        after = 0
        while True:
            batch = await self.entries(after=after, limit=page)
            for entry in batch:
                yield entry
            if len(batch) < page:
                return
            after = batch[-1].seq
