"""Failed sign-ins per username and client address, the rows web/signin.py throttles by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.dialect import insert_for
from store.tables import login_throttle

# Both key columns are String(64); a longer username cannot exist (users.username is as
# wide) and an address is at most 45 characters, so cutting only avoids a database error.
KEY_LENGTH = 64


@dataclass(frozen=True)
class Throttle:
    username: str
    address: str
    failures: int
    first_failure_at: datetime
    blocked_until: datetime | None


def _key(username: str, address: str) -> dict[str, str]:
    return {"username": username[:KEY_LENGTH], "address": address[:KEY_LENGTH]}


def _row(row: Any) -> Throttle:
    return Throttle(
        row.username, row.address, row.failures, row.first_failure_at, row.blocked_until
    )


def _match(username: str, address: str) -> Any:
    key = _key(username, address)
    return and_(
        login_throttle.c.username == key["username"], login_throttle.c.address == key["address"]
    )


class ThrottleRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, username: str, address: str) -> Throttle | None:
        query = select(login_throttle).where(_match(username, address))
        row = (await self.conn.execute(query)).first()
        return _row(row) if row else None

    async def locked(self, username: str, address: str, now: datetime) -> Throttle:
        """The pair's row (created with no failures if missing), locked until commit."""
        insert = insert_for(self.conn)
        await self.conn.execute(
            insert(login_throttle)
            .values(**_key(username, address), failures=0, first_failure_at=now)
            .on_conflict_do_nothing()
        )
        row = (
            await self.conn.execute(
                select(login_throttle).where(_match(username, address)).with_for_update()
            )
        ).one()
        return _row(row)

    async def save(self, throttle: Throttle) -> None:
        await self.conn.execute(
            update(login_throttle)
            .where(_match(throttle.username, throttle.address))
            .values(
                failures=throttle.failures,
                first_failure_at=throttle.first_failure_at,
                blocked_until=throttle.blocked_until,
            )
        )

    async def clear(self, username: str, address: str | None = None) -> int:
        """Delete the pair's row, or every row of the username; how many were deleted."""
        condition = (
            _match(username, address)
            if address is not None
            else login_throttle.c.username == username[:KEY_LENGTH]
        )
        result = await self.conn.execute(delete(login_throttle).where(condition))
        return int(result.rowcount)

    async def forget(self, before: datetime) -> int:
        """Delete rows whose first failure and end of wait are both at or before `before`."""
        blocked_until = login_throttle.c.blocked_until
        result = await self.conn.execute(
            delete(login_throttle).where(
                login_throttle.c.first_failure_at <= before,
                or_(blocked_until.is_(None), blocked_until <= before),
            )
        )
        return int(result.rowcount)

    async def blocked(self, now: datetime) -> dict[str, int]:
        """Per username, how many of its addresses are blocked at `now`."""
        rows = await self.conn.execute(
            select(login_throttle.c.username, func.count())
            .where(login_throttle.c.blocked_until > now)
            .group_by(login_throttle.c.username)
        )
        return {username: int(count) for username, count in rows}
