"""Typed keys for app and request state."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ewb.services import Services
from warning.actors import Actor

SERVICES = web.AppKey("services", Services)
# The embedded delivery runner, when this process runs one (`ewb serve` does).
RUNNER = web.AppKey("runner", Any)
ACTOR_KEY = web.RequestKey("actor", Actor)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def actor(request: web.Request) -> Actor:
    """The authenticated actor (set by the auth middleware on every /api/v1 route)."""
    return request[ACTOR_KEY]


def wake_runner(request: web.Request) -> None:
    """Tell this process's delivery runner that there is new work (an issued version)."""
    runner = request.app.get(RUNNER)
    if runner is not None:
        runner.wake()
