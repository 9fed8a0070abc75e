"""Typed keys for app and request state."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ewb.services import Services
from warning.actors import Actor
from web.intake import Intake

SERVICES = web.AppKey("services", Services)
# The embedded delivery runner, when this process runs one (`ewb serve` does).
RUNNER = web.AppKey("runner", Any)
ACTOR_KEY = web.RequestKey("actor", Actor)
# Status callbacks: stored by the intake as they arrive (applied by delivery/receipts.py).
INTAKE = web.AppKey("intake", Intake)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def actor(request: web.Request) -> Actor:
    """The authenticated actor (set by the auth middleware on every /api/v1 route)."""
    return request[ACTOR_KEY]


def wake_runner(request: web.Request) -> None:
    """Tell this process's delivery runner that there is new work (an issued version)."""
    wake_app_runner(request.app)


def wake_app_runner(app: web.Application) -> None:
    runner = app.get(RUNNER)
    if runner is not None:
        runner.wake()
