"""Typed keys for app and request state."""

from __future__ import annotations

from aiohttp import web

from ewb.services import Services
from warning.actors import Actor

SERVICES = web.AppKey("services", Services)
ACTOR_KEY = web.RequestKey("actor", Actor)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def actor(request: web.Request) -> Actor:
    """The authenticated actor (set by the auth middleware on every /api/v1 route)."""
    return request[ACTOR_KEY]
