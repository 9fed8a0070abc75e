"""Users and their API tokens (tokens are stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from store.tables import tokens, users
from subscribers.officers import Officer
from warning.actors import Actor, Role
from warning.errors import InvalidTransition

# Stored instead of a hash for users who may not sign in yet; never verifies.
NO_PASSWORD = "!"


@dataclass(frozen=True)
class OfficerRow:
    username: str
    name: str | None
    phone: str | None
    wecom_id: str | None
    areas: frozenset[str]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str
    actor: Actor
    active: bool


@dataclass(frozen=True)
class UserDetails:
    """A user with the contact details shown to admins."""

    user: User
    name: str | None
    phone: str | None
    wecom_id: str | None


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

    async def add(
        self,
        actor: Actor,
        password_hash: str,
        now: datetime,
        *,
        name: str | None = None,
        phone: str | None = None,
        wecom_id: str | None = None,
    ) -> int:
        try:
            result = await self.conn.execute(
                insert(users).values(
                    name=name,
                    phone=phone,
                    wecom_id=wecom_id,
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

    async def upsert_officer(self, officer: Officer, now: datetime) -> bool:
        """Create or update an info_officer; False if the name belongs to another role.

        A new officer cannot sign in until a password is set (`ewb user password`).
        """
        existing = await self.by_username(officer.username)
        values = {
            "name": officer.name,
            "phone": officer.phone,
            "wecom_id": officer.wecom_id,
            "areas": sorted(officer.areas),
        }
        if existing is None:
            await self.conn.execute(
                insert(users).values(
                    username=officer.username,
                    password_hash=NO_PASSWORD,
                    role=Role.INFO_OFFICER.value,
                    org="county",
                    active=True,
                    created_at=now,
                    **values,
                )
            )
            return True
        if existing.actor.role is not Role.INFO_OFFICER:
            return False
        await self.conn.execute(update(users).where(users.c.id == existing.id).values(values))
        return True

    async def officers(self) -> list[OfficerRow]:
        rows = await self.conn.execute(
            select(users)
            .where(users.c.role == Role.INFO_OFFICER.value, users.c.active.is_(True))
            .order_by(users.c.username)
        )
        return [
            OfficerRow(r.username, r.name, r.phone, r.wecom_id, frozenset(r.areas)) for r in rows
        ]

    async def officer(self, username: str) -> OfficerRow | None:
        row = (
            await self.conn.execute(
                select(users).where(
                    users.c.username == username, users.c.role == Role.INFO_OFFICER.value
                )
            )
        ).first()
        return (
            OfficerRow(row.username, row.name, row.phone, row.wecom_id, frozenset(row.areas))
            if row
            else None
        )

    async def set_password(self, username: str, password_hash: str) -> bool:
        result = await self.conn.execute(
            update(users).where(users.c.username == username).values(password_hash=password_hash)
        )
        return bool(result.rowcount)

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

    async def drop_token(self, token_hash: str) -> None:
        await self.conn.execute(delete(tokens).where(tokens.c.token_hash == token_hash))

    async def details(self) -> list[UserDetails]:
        """Every user, active or not, by username, with their name and contact details."""
        rows = (await self.conn.execute(select(users).order_by(users.c.username))).mappings()
        return [
            UserDetails(_user(dict(row)), row["name"], row["phone"], row["wecom_id"])
            for row in rows
        ]

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
