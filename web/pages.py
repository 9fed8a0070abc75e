"""Server-rendered console pages: Jinja2 set-up, the sign-in guard, rendering helpers.

Pages are rendered with aiohttp-jinja2 from `templates/pages/`. A console page handler
is wrapped in `page(...)`: it needs a signed-in session (else the sign-in page), the
roles it names, and a valid CSRF token on every POST. What a page *does* goes through
the same domain commands as the API, so a page can never allow what the API refuses.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from store.unit_of_work import audit_refusal
from store.users import User
from warning.actors import Actor, Role
from warning.errors import DomainError, PermissionDenied
from warning.grades import Grade
from warning.model import Warning
from warning.rules import Rules
from web.errors import HttpError
from web.json_body import posted
from web.keys import ACTOR_KEY, services
from web.session import (
    CSRF_FIELD,
    SAFE_METHODS,
    USER_KEY,
    base_context,
    check_csrf,
    session_user,
)

LOGIN_PATH = "/console/login"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A strict policy: scripts and styles only from /static/, nothing inline, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

GRADE_COLOURS = {
    Grade.BLUE: "#1e5fbf",
    Grade.YELLOW: "#f2c200",
    Grade.ORANGE: "#ef7d00",
    Grade.RED: "#d0021b",
}


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("templates", "pages"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
    env.filters["pct"] = pct
    env.globals["grades"] = list(reversed(Grade))


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


async def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """The page, with who is signed in, their CSRF token and strict security headers."""
    full = {**await base_context(request), **context}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def page(*roles: Role) -> Callable[[Handler], Handler]:
    """Guard a console handler: signed in, one of `roles` (any if none), CSRF on POST."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await session_user(request)
            if user is None:
                if request.method in SAFE_METHODS:
                    raise web.HTTPSeeOther(f"{LOGIN_PATH}?{urlencode({'next': request.path_qs})}")
                raise HttpError(401, "unauthorized", "your session has ended; sign in again")
            if request.method not in SAFE_METHODS and request.content_type != "multipart/form-data":
                try:
                    check_csrf(request, (await posted(request)).get(CSRF_FIELD))  # type: ignore[arg-type]
                except HttpError as e:
                    await _audit_refusal(request, user, "csrf", e.message)
                    raise
            if roles and user.actor.role not in roles:
                names = ", ".join(r.value for r in roles)
                await _audit_refusal(request, user, "role", f"this page is for: {names}")
                raise HttpError(403, "role", f"this page is for: {names}")
            request[ACTOR_KEY] = user.actor
            return await handler(request)

        return guarded

    return wrap


async def _audit_refusal(request: web.Request, user: User, rule: str, message: str) -> None:
    """A console page refused to a signed-in user (its role, a stale or forged form)."""
    svc = services(request)
    await audit_refusal(
        svc.store,
        now=svc.clock(),
        actor=user.username,
        action="console.page",
        warning_id=None,
        version=None,
        error=PermissionDenied(f"{request.method} {request.path}: {message}", rule=rule),
    )


def signed_in(request: web.Request) -> User:
    """The signed-in user of a guarded page."""
    return request[USER_KEY]


async def form(request: web.Request) -> dict[str, str]:
    """The posted form's single-valued fields, stripped."""
    data = await posted(request)
    return {k: v.strip() for k, v in data.items() if isinstance(v, str)}


async def form_lists(request: web.Request, *names: str) -> dict[str, list[str]]:
    data = await posted(request)
    return {n: [v for v in data.getall(n, []) if isinstance(v, str) and v] for n in names}


def can(
    decide: Callable[..., Any],
    warning: Warning,
    actor: Actor,
    rules: Rules,
    now: datetime,
    **extra: Any,
) -> bool:
    """Would the domain allow `decide` now? Tried on a copy, so nothing changes.

    Pages show an action's button only when this is true; the server checks again.
    """
    try:
        decide(copy.deepcopy(warning), actor, rules, now, **extra)
    except DomainError:
        return False
    return True
