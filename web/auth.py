"""API authentication: POST /api/v1/auth/token, and the middleware that checks each call."""

from __future__ import annotations

from aiohttp import web

from warning.actors import Actor
from web.errors import Handler, HttpError
from web.json_body import json_object
from web.keys import ACTOR_KEY, services
from web.passwords import new_token, token_hash
from web.responses import json_response
from web.session import CSRF_HEADER, SAFE_METHODS, check_csrf, session_user
from web.signin import authenticate, open_session

OPEN_PATHS = {("POST", "/api/v1/auth/token")}


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """/api/ needs a bearer token, or the console's session cookie (and CSRF header to change)."""
    if request.path.startswith("/api/") and (request.method, request.path) not in OPEN_PATHS:
        header = request.headers.get("Authorization", "")
        if header:
            request[ACTOR_KEY] = await _bearer_actor(request, header)
        else:
            user = await session_user(request)
            if user is None:
                raise HttpError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
            if request.method not in SAFE_METHODS:
                check_csrf(request, request.headers.get(CSRF_HEADER))
            request[ACTOR_KEY] = user.actor
    return await handler(request)


async def _bearer_actor(request: web.Request, header: str) -> Actor:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
    svc = services(request)
    async with svc.store.read() as tx:
        user = await tx.users.by_token(token_hash(token.strip()), svc.clock())
    if user is None:
        raise HttpError(401, "unauthorized", "the token is unknown or has expired")
    return user.actor


def _credential(body: dict[str, object], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise HttpError(422, "invalid", f"{name} is required", name)
    return value


async def issue_token(request: web.Request) -> web.Response:
    """Exchange {username, password} for a bearer token."""
    body = await json_object(request)
    username, password = _credential(body, "username"), _credential(body, "password")
    svc = services(request)
    user = await authenticate(svc, username, password, request.remote or "")
    token = new_token()
    expires = await open_session(svc, user, token_hash(token), svc.settings.token_ttl_hours)
    return json_response(
        {
            "token": token,
            "expires_at": expires.astimezone(svc.settings.tz).isoformat(timespec="seconds"),
            "user": {
                "username": user.username,
                "role": user.actor.role.value,
                "org": user.actor.org,
                "areas": sorted(user.actor.areas),
            },
        }
    )
