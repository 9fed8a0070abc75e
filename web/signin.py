"""Checking a username and password, for the API token and the console sign-in alike.

Every failure is an audit entry (`login`, refused) and counts against the pair of
username and client address (store/throttle.py). From the `login_max_failures`-th failure
within `login_window_minutes` on, the pair waits `login_backoff_seconds`, twice as long
after each further failure (never longer than the window); while it waits it is refused
(429) without its password being looked at. Failures are forgotten a window after the
first of them and after the end of the last wait. Other addresses are not affected, so
nobody can lock the duty chief out by guessing; a success, `unlock` or a new password
clears the pair.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import datetime, timedelta

from config.settings import Settings
from ewb.services import Services
from store.throttle import Throttle
from store.unit_of_work import audit_refusal
from store.users import User
from warning.errors import NotFound, PermissionDenied
from web.errors import HttpError
from web.passwords import verify_password

# Beyond this many doublings the delay is the window anyway; it keeps 2**n a small number.
MAX_DOUBLINGS = 32


def expired(throttle: Throttle, now: datetime, window: timedelta) -> bool:
    """Are the pair's failures forgotten: a whole window since the first and since the end
    of its last wait? (Counting from the first alone would forget a guesser who keeps
    trying at every end of a wait before the delay ever reached the window.)"""
    last = max(throttle.first_failure_at, throttle.blocked_until or throttle.first_failure_at)
    return last <= now - window


def after_failure(throttle: Throttle, now: datetime, settings: Settings) -> Throttle:
    """The pair's row after one more failure at `now`: its count and how long it waits."""
    window = timedelta(minutes=settings.login_window_minutes)
    if throttle.failures == 0 or expired(throttle, now, window):
        throttle = replace(throttle, failures=0, first_failure_at=now)
    failures = throttle.failures + 1
    blocked_until = None
    if failures >= settings.login_max_failures:
        doublings = min(failures - settings.login_max_failures, MAX_DOUBLINGS)
        delay = min(settings.login_backoff_seconds * 2**doublings, window.total_seconds())
        blocked_until = now + timedelta(seconds=delay)
    return replace(throttle, failures=failures, blocked_until=blocked_until)


def wait_seconds(throttle: Throttle | None, now: datetime) -> int:
    """Whole seconds the pair must still wait before it may try again (0: it may now)."""
    if throttle is None or throttle.blocked_until is None or throttle.blocked_until <= now:
        return 0
    return math.ceil((throttle.blocked_until - now).total_seconds())


MAX_USERNAME = 64  # users.username is VARCHAR(64)


def _impossible(username: str) -> bool:
    """Too long, or holding a control character or a lone surrogate: no user has it."""
    return len(username) > MAX_USERNAME or any(
        ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in username
    )


def _printable(username: str) -> str:
    """The name as the audit log can store it."""
    if len(username) > MAX_USERNAME:
        username = username[: MAX_USERNAME - 1] + "…"
    return "".join("?" if _impossible(c) else c for c in username)


async def _refuse(svc: Services, now: datetime, username: str, error: PermissionDenied) -> None:
    await audit_refusal(
        svc.store,
        now=now,
        actor=username,
        action="login",
        warning_id=None,
        version=None,
        error=error,
    )


async def authenticate(svc: Services, username: str, password: str, address: str) -> User:
    """The active user with these credentials; HttpError 401 (wrong) or 429 (must wait).

    `address` is the client's (the request's remote address); failures count per pair.
    """
    now = svc.clock()
    if _impossible(username):  # never stored: refused before any lookup can choke on it
        refusal = PermissionDenied("no such username can exist", rule="login")
        await _refuse(svc, now, _printable(username), refusal)
        raise HttpError(401, "unauthorized", "wrong username or password")
    async with svc.store.read() as tx:
        throttle = await tx.throttle.get(username, address)
        user = await tx.users.by_username(username)
    wait = wait_seconds(throttle, now)
    if wait:
        refusal = PermissionDenied(f"throttled for {wait} s", rule="login_throttled")
        await _refuse(svc, now, username, refusal)
        raise HttpError(
            429,
            "too_many_attempts",
            f"too many failed sign-ins for {username!r} from this address; try again in "
            f"{wait} second{'' if wait == 1 else 's'}",
        )
    stored_hash = user.password_hash if user and user.active else None
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, verify_password, stored_hash, password):
        async with svc.store.write() as tx:
            locked = await tx.throttle.locked(username, address, now)
            await tx.throttle.save(after_failure(locked, now, svc.settings))
            window = timedelta(minutes=svc.settings.login_window_minutes)
            await tx.throttle.forget(now - window)
        await _refuse(svc, now, username, PermissionDenied("bad credentials", rule="login"))
        raise HttpError(401, "unauthorized", "wrong username or password")
    assert user is not None
    if throttle is not None:
        async with svc.store.write() as tx:
            await tx.throttle.clear(username, address)
    return user


async def unlock(svc: Services, username: str, by: str) -> int:
    """Clear the throttle of every address of `username`, audited; how many were cleared.
    An unknown user is refused (NotFound) and audited, for the admin page and the CLI alike."""
    now = svc.clock()
    async with svc.store.write() as tx:
        known = await tx.users.by_username(username) is not None
        if known:
            cleared = await tx.throttle.clear(username)
            await tx.audit.append(
                at=now,
                actor=by,
                action="user_unlock",
                warning_id=None,
                version=None,
                outcome="ok",
                details={"username": username, "addresses": cleared},
            )
    if not known:
        refusal = NotFound(f"no user {username!r}")
        await audit_refusal(
            svc.store,
            now=now,
            actor=by,
            action="user_unlock",
            warning_id=None,
            version=None,
            error=refusal,
        )
        raise refusal
    return cleared


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
