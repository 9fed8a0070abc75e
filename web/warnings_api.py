"""The warnings API: draft, edit, submit, approve, reject, redraft, issue, revise, read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from config.settings import Settings
from store import unit_of_work, writers
from store.unit_of_work import Decide
from templates import approval, preview
from warning import commands, wording
from warning.actors import Actor
from warning.events import Event
from warning.grades import parse_grade
from warning.model import State, Version, Warning
from warning.rules import Rules
from web.errors import HttpError
from web.json_body import int_param, json_object, path_id
from web.keys import actor, services, wake_runner
from web.responses import json_response
from web.serialize import version_json, warning_json

routes = web.RouteTableDef()


async def run_command(
    request: web.Request,
    warning_id: int,
    action: str,
    decide: Decide,
    *,
    expected: int | None = None,
    needs_sequence: bool = False,
) -> tuple[Warning, Rules]:
    """Run one workflow command as the request's actor (the API and the console both)."""
    svc = services(request)
    with writers.urgent(needs_sequence):  # SQLite: an issue does not queue behind a fan-out
        result = await unit_of_work.change(
            svc.store,
            warning_id,
            decide,
            now=svc.clock(),
            actor=actor(request),
            action=action,
            expected=expected,
            needs_sequence=needs_sequence,
        )
    if needs_sequence:
        wake_runner(request)  # an issue committed its outbox row: fan out now
    return result


async def _command(
    request: web.Request, action: str, decide: Decide, *, needs_sequence: bool = False
) -> web.Response:
    """Run one workflow command on the warning in the path; answer with the result."""
    warning, rules = await run_command(
        request,
        path_id(request),
        action,
        decide,
        expected=int_param(request, "version", low=1),
        needs_sequence=needs_sequence,
    )
    return json_response(warning_json(warning, warning.latest, rules))


def approve_checked(
    settings: Settings, *, seen: str | None = None, chinese_only: bool = False
) -> Decide:
    """Approve the messages as rendered now (`seen`: the digest the approver was shown);
    refused while any message that would be sent breaks a channel limit."""
    return approval.approve_checked(
        preview.from_settings(settings), seen=seen, chinese_only=chinese_only
    )


def issue_checked(settings: Settings) -> Decide:
    """Issue; refused if the messages changed since they were approved."""
    return approval.issue_checked(preview.from_settings(settings))


async def approval_choices(request: web.Request) -> tuple[str | None, bool]:
    """The approver's optional `digest` (of the messages they saw) and `chinese_only`,
    from a JSON body or the query."""
    body = await json_object(request) if request.body_exists else {}
    seen = body.get("digest", request.query.get("digest"))
    if seen is not None and not isinstance(seen, str):
        raise HttpError(422, "invalid", "digest must be a string", "digest")
    flag = body.get("chinese_only", request.query.get("chinese_only", False))
    if isinstance(flag, str):
        flag = flag.lower() in ("1", "true", "yes", "on")
    if not isinstance(flag, bool):
        raise HttpError(422, "invalid", "chinese_only must be true or false", "chinese_only")
    return seen or None, flag


def revision(kind: Any, body: dict[str, Any]) -> Decide:
    def decide(w: Warning, a: Actor, r: Rules, n: datetime) -> list[Event]:
        return commands.revise(w, kind if isinstance(kind, str) else "", body, a, r, n)

    return decide


def revise_action(kind: Any) -> str:
    """The audit action of a revision: `revise:<kind>`."""
    return f"revise:{kind}" if isinstance(kind, str) and kind.isidentifier() else "revise"


@routes.post("/api/v1/warnings")
async def create(request: web.Request) -> web.Response:
    body = await json_object(request)
    svc = services(request)
    warning, rules = await unit_of_work.create(
        svc.store, body, now=svc.clock(), actor=actor(request), action="draft"
    )
    return json_response(warning_json(warning, warning.latest, rules), status=201)


@routes.patch("/api/v1/warnings/{id}")
async def edit(request: web.Request) -> web.Response:
    body = await json_object(request)
    return await _command(request, "edit", lambda w, a, r, n: commands.edit(w, body, a, r, n))


@routes.post("/api/v1/warnings/{id}/submit")
async def submit(request: web.Request) -> web.Response:
    return await _command(request, "submit", commands.submit)


@routes.post("/api/v1/warnings/{id}/approve")
async def approve(request: web.Request) -> web.Response:
    """Approve; refused (409) while any message that would be sent breaks a channel limit,
    or when `digest` names messages other than those that would be sent now."""
    seen, chinese_only = await approval_choices(request)
    decide = approve_checked(services(request).settings, seen=seen, chinese_only=chinese_only)
    return await _command(request, "approve", decide)


@routes.post("/api/v1/warnings/{id}/preview")
async def show_preview(request: web.Request) -> web.Response:
    """Every channel's text in both locales (and per named group), with limits broken."""
    svc = services(request)
    warning, version, rules = await read_warning(request)
    options = preview.from_settings(svc.settings)
    messages = preview.preview(warning, version, rules, svc.clock(), options)
    return json_response(
        {
            "id": warning.id,
            "version": version.number,
            "digest": approval.rendering_digest(warning, version, rules, options),
            "translation_pending": list(wording.translation_pending(version)),
            "messages": [
                {
                    "channel": m.channel,
                    "locale": m.locale,
                    "groups": list(m.groups),
                    "title": m.title,
                    "text": m.text,
                    "segments": m.segments,
                    "violations": list(m.violations),
                    "sent": m.sent,
                }
                for m in messages
            ],
            "blocking": preview.blocking(messages),
        }
    )


@routes.post("/api/v1/warnings/{id}/reject")
async def reject(request: web.Request) -> web.Response:
    body = await json_object(request)
    reason: Any = body.get("reason")
    return await _command(request, "reject", lambda w, a, r, n: commands.reject(w, reason, a, r, n))


@routes.post("/api/v1/warnings/{id}/redraft")
async def redraft(request: web.Request) -> web.Response:
    return await _command(request, "redraft", commands.redraft)


@routes.post("/api/v1/warnings/{id}/issue")
async def issue(request: web.Request) -> web.Response:
    decide = issue_checked(services(request).settings)
    return await _command(request, "issue", decide, needs_sequence=True)


@routes.post("/api/v1/warnings/{id}/schedule")
async def schedule(request: web.Request) -> web.Response:
    """Approved for release at its onset: the scheduler issues it then."""
    return await _command(request, "schedule", commands.schedule_release)


@routes.post("/api/v1/warnings/{id}/revisions")
async def revise(request: web.Request) -> web.Response:
    body = await json_object(request)
    kind = body.pop("action", None)
    response = await _command(request, revise_action(kind), revision(kind, body))
    response.set_status(201)
    return response


async def read_warning(request: web.Request) -> tuple[Warning, Version, Rules]:
    """The warning named in the path, the version asked for (default latest), the rules."""
    svc = services(request)
    number = int_param(request, "version", low=1)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(path_id(request))).warning
        rules = await tx.rules()
    return warning, warning.version(number), rules


@routes.get("/api/v1/warnings/{id}")
async def show(request: web.Request) -> web.Response:
    warning, version, rules = await read_warning(request)
    return json_response(warning_json(warning, version, rules))


def _choice(request: web.Request, name: str, allowed: set[str]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise HttpError(422, "invalid", f"{name} must be one of {', '.join(sorted(allowed))}", name)
    return value


@routes.get("/api/v1/warnings")
async def index(request: web.Request) -> web.Response:
    svc = services(request)
    state = _choice(request, "state", {s.value for s in State})
    hazard = _choice(request, "hazard", set(svc.catalog.hazards))
    grade = request.query.get("grade") or None
    if grade is not None and parse_grade(grade) is None:
        raise HttpError(422, "invalid", "grade must be blue, yellow, orange or red", "grade")
    limit = int_param(request, "limit", default=50, low=1, high=500)
    offset = int_param(request, "offset", default=0, low=0)
    assert limit is not None and offset is not None
    async with svc.store.read() as tx:
        pairs, total = await tx.warnings.list_latest(
            state=state, hazard=hazard, grade=grade, limit=limit, offset=offset
        )
        rules = await tx.rules()
    return json_response(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "warnings": [version_json(wid, version, rules) for wid, version in pairs],
        }
    )
