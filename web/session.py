"""Console sessions: the `ewb_session` cookie (HttpOnly, SameSite=Strict) and CSRF tokens.

The cookie holds a random token stored hashed like an API token (`tokens` table), so
signing out or an expiry ends it on the server. The CSRF token of a session is an HMAC
of the session token: every form carries it as `csrf`, every script call as the
`X-CSRF-Token` header, and anything that changes state without it is refused (403).
The sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web

from store.users import User
from web.errors import HttpError
from web.json_body import same_secret
from web.keys import services
from web.passwords import token_hash

COOKIE = "ewb_session"
LOGIN_COOKIE = "ewb_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_KEY = web.RequestKey("session_user", User)


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"ewb-csrf", hashlib.sha256).hexdigest()


def session_token(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE) or None


async def session_user(request: web.Request) -> User | None:
    """The signed-in user of this request's cookie, if it is valid (cached per request)."""
    if USER_KEY in request:
        return request[USER_KEY]
    token = session_token(request)
    if token is None:
        return None
    svc = services(request)
    async with svc.store.read() as tx:
        user = await tx.users.by_token(token_hash(token), svc.clock())
    if user is not None:
        request[USER_KEY] = user
    return user


def check_csrf(request: web.Request, given: str | None) -> None:
    """Refuse (403 csrf) unless `given` is this session's CSRF token."""
    token = session_token(request)
    if token is None or not given or not same_secret(given, csrf_for(token)):
        raise HttpError(403, "csrf", "the form is stale or forged; reload the page and try again")


def set_cookie(response: web.StreamResponse, name: str, value: str, *, secure: bool) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=secure, path="/")


def is_secure(request: web.Request) -> bool:
    return services(request).settings.public_base_url.startswith("https://")


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


async def base_context(request: web.Request) -> dict[str, Any]:
    """What every page template needs: the user, their CSRF token, the current path."""
    user = await session_user(request)
    token = session_token(request)
    return {"me": user, "csrf": csrf_for(token) if user and token else "", "path": request.path}
