"""Bearer-token authentication: POST /api/v1/auth/token, and the middleware that checks it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from store.unit_of_work import audit_refusal
from warning.errors import PermissionDenied
from web.errors import Handler, HttpError
from web.json_body import json_object
from web.keys import ACTOR_KEY, services
from web.passwords import new_token, token_hash, verify_password
from web.responses import json_response

OPEN_PATHS = {("POST", "/api/v1/auth/token")}


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/") and (request.method, request.path) not in OPEN_PATHS:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
        svc = services(request)
        async with svc.store.read() as tx:
            user = await tx.users.by_token(token_hash(token.strip()), svc.clock())
        if user is None:
            raise HttpError(401, "unauthorized", "the token is unknown or has expired")
        request[ACTOR_KEY] = user.actor
    return await handler(request)


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
    now = svc.clock()
    async with svc.store.read() as tx:
        user = await tx.users.by_username(username)
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
    token = new_token()
    expires = now + timedelta(hours=svc.settings.token_ttl_hours)
    async with svc.store.write() as tx:
        await tx.users.add_token(user.id, token_hash(token), now, expires)
        await tx.audit.append(
            at=now,
            actor=user.username,
            action="login",
            warning_id=None,
            version=None,
            outcome="ok",
            details={},
        )
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
