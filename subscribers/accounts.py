"""Adding a user: the checks and the one way to store it, for `ewb user add` and the admin page.

Bad input is `InvalidInput` naming the field (`username`, `password`, `phone`, `org`,
`areas`, `name`, `wecom_id`); a username that exists is `InvalidTransition`. Nothing is
written unless every check passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.db import Tx
from subscribers import phones
from warning.actors import Actor, Role
from warning.catalog import Catalog
from warning.errors import InvalidInput

MIN_PASSWORD = 8
MAX_USERNAME = 64
MAX_NAME = 100
MAX_WECOM_ID = 64


@dataclass(frozen=True)
class NewUser:
    username: str
    role: Role
    org: str
    areas: frozenset[str]
    name: str | None = None
    phone: str | None = None  # E.164 once checked
    wecom_id: str | None = None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password must have at least {MIN_PASSWORD} characters", field="password"
        )


def new_user(
    username: str,
    role: Role,
    org: str,
    areas: frozenset[str],
    *,
    name: str | None = None,
    phone: str | None = None,
    wecom_id: str | None = None,
) -> NewUser:
    """The user's fields checked on their own (no database); the phone in E.164."""
    if not username or len(username) > MAX_USERNAME:
        raise InvalidInput(
            f"the username must have 1 to {MAX_USERNAME} characters", field="username"
        )
    if name and len(name) > MAX_NAME:
        raise InvalidInput(f"the name is longer than {MAX_NAME} characters", field="name")
    if wecom_id and len(wecom_id) > MAX_WECOM_ID:
        raise InvalidInput(
            f"the WeCom id is longer than {MAX_WECOM_ID} characters", field="wecom_id"
        )
    normalised = None
    if phone:
        try:
            normalised = phones.normalise(phone)
        except phones.BadPhone as e:
            raise InvalidInput(str(e), field="phone") from None
    elif role is Role.INFO_OFFICER:
        raise InvalidInput(
            "an info_officer needs a phone: officers are called and texted", field="phone"
        )
    return NewUser(
        username=username,
        role=role,
        org=org,
        areas=areas,
        name=name or None,
        phone=normalised,
        wecom_id=wecom_id or None,
    )


async def add_user(
    tx: Tx, catalog: Catalog, user: NewUser, password_hash: str, now: datetime
) -> int:
    """Store a checked user whose organisation and areas exist; the new user's id."""
    if user.org not in catalog.organisations:
        known = ", ".join(catalog.organisations)
        raise InvalidInput(f"unknown organisation {user.org!r}; known: {known}", field="org")
    tree = await tx.areas.tree()
    unknown = sorted(c for c in user.areas if c not in tree)
    if not user.areas or unknown:
        raise InvalidInput(
            f"unknown area codes: {', '.join(unknown) or '(none given)'}", field="areas"
        )
    actor = Actor(username=user.username, role=user.role, org=user.org, areas=user.areas)
    return await tx.users.add(
        actor, password_hash, now, name=user.name, phone=user.phone, wecom_id=user.wecom_id
    )
