"""Checking a username and password, for the API token and the console sign-in alike.

Every failure is an audit entry (`login`, refused); a username with
`login_max_failures` failures within `login_window_minutes` is refused without its
password being looked at until the window has passed (429), which makes guessing slow.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from ewb.services import Services
from store.unit_of_work import audit_refusal
from store.users import User
from warning.errors import PermissionDenied
from web.errors import HttpError
from web.passwords import verify_password


async def authenticate(svc: Services, username: str, password: str) -> User:
    """The active user with these credentials; HttpError 401 (wrong) or 429 (too many)."""
    now = svc.clock()
    since = now - timedelta(minutes=svc.settings.login_window_minutes)
    async with svc.store.read() as tx:
        failures = await tx.audit.count(
            actor=username, action="login", outcome="refused", since=since
        )
        user = await tx.users.by_username(username)
    if failures >= svc.settings.login_max_failures:
        raise HttpError(
            429,
            "too_many_attempts",
            f"too many failed sign-ins for {username!r}; try again in "
            f"{svc.settings.login_window_minutes:g} minutes",
        )
    stored_hash = user.password_hash if user and user.active else None
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, verify_password, stored_hash, password):
        await audit_refusal(
            svc.store,
            now=now,
            actor=username,
            action="login",
            warning_id=None,
            version=None,
            error=PermissionDenied("bad credentials", rule="login"),
        )
        raise HttpError(401, "unauthorized", "wrong username or password")
    assert user is not None
    return user


async def open_session(svc: Services, user: User, token_hash: str, ttl_hours: float) -> datetime:
    """Store a token (API bearer or console session), audit the sign-in; when it expires."""
    now = svc.clock()
    expires = now + timedelta(hours=ttl_hours)
    async with svc.store.write() as tx:
        await tx.users.add_token(user.id, token_hash, now, expires)
        await tx.audit.append(
            at=now,
            actor=user.username,
            action="login",
            warning_id=None,
            version=None,
            outcome="ok",
            details={},
        )
    return expires
