"""Users and their API tokens (tokens are stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import tokens, users
from warning.actors import Actor, Role
from warning.errors import InvalidTransition


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str
    actor: Actor
    active: bool


def _user(row: dict) -> User:  # type: ignore[type-arg]
    return User(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        active=row["active"],
        actor=Actor(
            username=row["username"],
            role=Role(row["role"]),
            org=row["org"],
            areas=frozenset(row["areas"]),
        ),
    )


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, actor: Actor, password_hash: str, now: datetime) -> int:
        try:
            result = await self.conn.execute(
                insert(users).values(
                    username=actor.username,
                    password_hash=password_hash,
                    role=actor.role.value,
                    org=actor.org,
                    areas=sorted(actor.areas),
                    active=True,
                    created_at=now,
                )
            )
        except IntegrityError as e:
            raise InvalidTransition(f"user {actor.username!r} already exists") from e
        return int(result.inserted_primary_key[0])

    async def by_username(self, username: str) -> User | None:
        row = (
            (await self.conn.execute(select(users).where(users.c.username == username)))
            .mappings()
            .first()
        )
        return _user(dict(row)) if row else None

    async def add_token(
        self, user_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        await self.conn.execute(delete(tokens).where(tokens.c.expires_at <= now))
        await self.conn.execute(
            insert(tokens).values(
                user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )

    async def by_token(self, token_hash: str, now: datetime) -> User | None:
        """The active user holding this unexpired token."""
        row = (
            (
                await self.conn.execute(
                    select(users)
                    .join(tokens, tokens.c.user_id == users.c.id)
                    .where(
                        tokens.c.token_hash == token_hash,
                        tokens.c.expires_at > now,
                        users.c.active.is_(True),
                    )
                )
            )
            .mappings()
            .first()
        )
        return _user(dict(row)) if row else None
