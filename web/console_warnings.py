"""The issuing office's warning pages: the list, the draft form, one warning's page
(its state, the actions the user may take, and while it is out the live fan-out and
coverage), and revisions. Every action runs the same command as the JSON API.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from delivery.platform import is_down
from delivery.progress import report as progress_report
from reach.report import build, chosen_version
from store import unit_of_work
from store.platform import Link
from store.unit_of_work import Decide
from templates import preview
from warning import commands, wording
from warning.actors import Role
from warning.errors import DomainError, InvalidInput, NotFound
from warning.grades import Grade
from warning.model import Kind, State, Version, Warning
from warning.rules import Rules
from web import draft_form
from web.errors import HttpError, status_for
from web.json_body import path_id, whole_number
from web.keys import actor, services
from web.pages import can, form, form_lists, page, render
from web.people_api import forecast
from web.review import may_approve, review
from web.serialize import version_json, warning_json
from web.warnings_api import (
    approve_checked,
    issue_checked,
    revise_action,
    revision,
    run_command,
)

routes = web.RouteTableDef()
OFFICE = (Role.FORECASTER, Role.DUTY_CHIEF, Role.LEADER, Role.ADMIN)
REVISIONS = {
    "update": "更新 Update",
    "escalate": "升级 Escalate",
    "downgrade": "降级 Downgrade",
    "cancel": "解除 Cancel",
}


@routes.get("/console/warnings")
@page(*OFFICE)
async def index(request: web.Request) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        pairs, total = await tx.warnings.list_latest(
            state=None, hazard=None, grade=None, limit=100, offset=0
        )
        in_force = await tx.warnings.in_force([wid for wid, _ in pairs])
        rules = await tx.rules()
    rows = []
    for wid, latest in pairs:
        force = in_force.get(wid)
        row = version_json(wid, force or latest, rules)
        # Beside the version in force, the revision on its way (draft, submitted, approved).
        on_its_way = force is not None and force.number != latest.number
        row["revision"] = version_json(wid, latest, rules) if on_its_way else None
        rows.append(row)
    return await render(request, "warnings.html.j2", {"warnings": rows, "total": total})


async def _draft_page(
    request: web.Request,
    values: dict[str, Any],
    *,
    rules: Rules,
    action: str,
    title: str,
    warning: dict[str, Any] | None = None,
    revise: str | None = None,
    error: DomainError | HttpError | None = None,
    status: int = 200,
) -> web.Response:
    svc = services(request)
    me = actor(request)
    async with svc.store.read() as tx:
        figures = await tx.areas.figures()
    scope = me.areas if me.role is not Role.ADMIN else frozenset({svc.settings.issuer_area})
    return await render(
        request,
        "draft.html.j2",
        {
            "title": title,
            "action": action,
            "values": values,
            "warning": warning,
            "revise": revise,
            "hazards": draft_form.hazard_choices(me, rules),
            "groups": draft_form.group_choices(rules),
            "tree": draft_form.area_tree(figures, scope, rules),
            "error": error,
        },
        status=status,
    )


@routes.get("/console/warnings/new")
@page(Role.FORECASTER)
async def new(request: web.Request) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
    values = draft_form.blank_values(actor(request), rules, svc.clock())
    return await _draft_page(
        request, values, rules=rules, action="/console/warnings", title="拟稿 New warning"
    )


async def _posted(request: web.Request, rules: Rules) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API body of the posted draft form, and the form to show again if refused."""
    fields = await form(request)
    lists = await form_lists(request, "areas", "groups")
    body = draft_form.body_of(fields, lists, rules)
    return body, draft_form.form_values(fields, lists)


@routes.post("/console/warnings")
@page(*OFFICE)
async def create(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
    body, shown = await _posted(request, rules)
    try:
        warning, _ = await unit_of_work.create(
            svc.store, body, now=svc.clock(), actor=actor(request), action="draft"
        )
    except DomainError as e:
        return await _draft_page(
            request,
            shown,
            rules=rules,
            action="/console/warnings",
            title="拟稿 New warning",
            error=e,
            status=status_for(e),
        )
    assert warning.id is not None
    return await _after_save(request, warning.id)


async def _after_save(request: web.Request, warning_id: int) -> web.StreamResponse:
    """Submit too when the drafter pressed that button; then show the warning."""
    if (await form(request)).get("intent") == "submit":
        try:
            await run_command(request, warning_id, "submit", commands.submit)
        except DomainError as e:
            return await _warning_page(request, warning_id, error=e, status=status_for(e))
    raise web.HTTPSeeOther(f"/console/warnings/{warning_id}")


@routes.post("/console/warnings/{id}/edit")
@page(*OFFICE)
async def edit(request: web.Request) -> web.StreamResponse:
    warning_id = path_id(request)
    svc = services(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
    body, shown = await _posted(request, rules)
    try:
        await run_command(
            request,
            warning_id,
            "edit",
            lambda w, a, r, n: commands.edit(w, body, a, r, n),
            expected=_expected(await form(request)),
        )
    except DomainError as e:
        return await _warning_page(request, warning_id, error=e, status=status_for(e), values=shown)
    return await _after_save(request, warning_id)


def _expected(fields: dict[str, str]) -> int | None:
    return whole_number(fields.get("version"))


def _decide(name: str, fields: dict[str, str], request: web.Request) -> tuple[Decide, bool]:
    """The command a button names, and whether it needs a CAP sequence number."""
    if name == "approve":
        seen = fields.get("digest") or None
        chinese_only = fields.get("chinese_only") == "yes"
        return approve_checked(
            services(request).settings, seen=seen, chinese_only=chinese_only
        ), False
    if name == "issue":
        return issue_checked(services(request).settings), True
    if name == "reject":
        reason = fields.get("reason", "")
        return (lambda w, a, r, n: commands.reject(w, reason, a, r, n)), False
    simple = {
        "submit": commands.submit,
        "redraft": commands.redraft,
        "schedule": commands.schedule_release,
    }
    if name not in simple:
        raise HttpError(404, "not_found", f"no action {name!r}")
    return simple[name], False


@routes.post("/console/warnings/{id}/do/{action}")
@page(*OFFICE)
async def act(request: web.Request) -> web.StreamResponse:
    """One button of the workflow: submit, approve, reject, redraft, issue, schedule."""
    warning_id = path_id(request)
    name = request.match_info["action"]
    fields = await form(request)
    decide, needs_sequence = _decide(name, fields, request)
    try:
        await run_command(
            request,
            warning_id,
            name,
            decide,
            expected=_expected(fields),
            needs_sequence=needs_sequence,
        )
    except DomainError as e:
        return await _warning_page(request, warning_id, error=e, status=status_for(e))
    back = "/console/approvals" if fields.get("back") == "approvals" else ""
    raise web.HTTPSeeOther(back or f"/console/warnings/{warning_id}")


def _actions(warning: Warning, request: web.Request, rules: Rules) -> dict[str, bool]:
    """Which buttons to show: exactly the commands the domain would accept now."""
    me, now = actor(request), services(request).clock()
    latest = warning.latest
    shown = {
        "edit": latest.state is State.DRAFT
        and can(lambda w, a, r, n: commands.edit(w, {}, a, r, n), warning, me, rules, now),
        "submit": can(commands.submit, warning, me, rules, now),
        "approve": can(may_approve, warning, me, rules, now),
        "reject": can(lambda w, a, r, n: commands.reject(w, "-", a, r, n), warning, me, rules, now),
        "redraft": can(commands.redraft, warning, me, rules, now),
        "issue": can(commands.issue, warning, me, rules, now, sequence=0),
        "schedule": can(commands.schedule_release, warning, me, rules, now),
    }
    for kind in REVISIONS:
        body: dict[str, Any] = {}
        if kind in ("escalate", "downgrade"):
            body = {"grade": _next_grade(warning, kind)}
        shown[kind] = body.get("grade", "") is not None and can(
            revision(kind, body), warning, me, rules, now
        )
    return shown


def _next_grade(warning: Warning, kind: str) -> str | None:
    order = list(Grade)
    live = warning.live_version() or warning.latest
    i = order.index(live.grade) + (1 if kind == "escalate" else -1)
    return order[i].value if 0 <= i < len(order) else None


async def _warning_page(
    request: web.Request,
    warning_id: int,
    *,
    error: DomainError | HttpError | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        rules = await tx.rules()
    latest = warning.latest
    actions = _actions(warning, request, rules)
    view = warning_json(warning, latest, rules)
    if actions["edit"]:
        return await _draft_page(
            request,
            values or draft_form.values_of(latest, rules),
            rules=rules,
            action=f"/console/warnings/{warning_id}/edit",
            title=f"编辑草稿 Edit draft · #{warning_id} v{latest.number}",
            warning=view,
            error=error,
            status=status,
        )
    live = await live_context(request, warning) if _issued(warning) else {}
    checked = None
    if latest.state in (State.DRAFT, State.SUBMITTED, State.REJECTED, State.APPROVED):
        checked = await review(request, warning, latest, rules)
    return await render(
        request,
        "warning.html.j2",
        {
            "w": view,
            "actions": actions,
            "revisions": REVISIONS,
            "error": error,
            "previous": _previous(warning, rules),
            "review": checked,
            **live,
        },
        status=status,
    )


def _issued(warning: Warning) -> bool:
    return any(v.was_issued for v in warning.versions)


def _previous(warning: Warning, rules: Rules) -> dict[str, Any] | None:
    """The version in force that a revision on its way would replace, to show what changes."""
    latest = warning.latest
    in_force: Version | None = warning.live_version()
    if latest.kind is Kind.ALERT or in_force is None or in_force is latest:
        return None
    assert warning.id is not None
    return version_json(warning.id, in_force, rules)


def _platform_down(link: Link, tz: ZoneInfo) -> dict[str, Any] | None:
    """The alert of a platform that is down (delivery/platform.is_down), else None."""
    if not is_down(link):
        return None
    last = link.last_answer_at
    return {
        "missed": link.missed,
        "last_answer": last.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if last else None,
    }


async def live_context(request: web.Request, warning: Warning) -> dict[str, Any]:
    """The fan-out progress and coverage of the version in force (or last issued)."""
    svc = services(request)
    assert warning.id is not None
    try:
        version = chosen_version(warning, None)
    except (NotFound, InvalidInput):
        return {}
    async with svc.store.read() as tx:
        progress = await tx.progress.progress(warning.id, version.number, svc.clock())
        report = await build(tx, warning, version, await tx.areas.tree(), svc.clock())
        link = await tx.platform.link()
    found = progress_report(warning.id, version.number, progress)
    channels = fanout_rows(found["by_channel"])  # type: ignore[arg-type]
    count = sum(c["accepted"] for c in channels)
    sendable = sum(c["total"] - c["failed"] for c in channels)
    return {
        "progress": found,
        "report": report,
        "platform_down": _platform_down(link, svc.settings.tz),
        "town_names": {c.code: c.name for c in report.towns},
        "channels": channels,
        "accepted": {
            "count": count,
            "sendable": sendable,
            "share": count / sendable if sendable else 0.0,
        },
    }


def fanout_rows(by_channel: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Per channel: deliveries planned, accepted by the provider, open, failed (fell back)."""
    rows = []
    for channel, states in by_channel.items():
        if channel == "none":  # nobody to send to: the unreachable
            continue
        total = sum(states.values()) - states.get("cancelled", 0)
        accepted = states.get("sent", 0) + states.get("delivered", 0)
        failed = states.get("failed", 0)
        rows.append(
            {
                "channel": channel,
                "total": total,
                "accepted": accepted,
                "open": states.get("pending", 0) + states.get("sending", 0),
                "failed": failed,
                "share": accepted / (total - failed) if total > failed else 0.0,
            }
        )
    return rows


@routes.get("/console/warnings/{id}")
@page(*OFFICE)
async def show(request: web.Request) -> web.Response:
    return await _warning_page(request, path_id(request))


@routes.get("/console/warnings/{id}/live")
@page(*OFFICE)
async def live(request: web.Request) -> web.Response:
    """The live part of the warning page alone; the page's script fetches it every few s."""
    svc = services(request)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(path_id(request))).warning
    return await render(request, "warning_live.html.j2", await live_context(request, warning))


@routes.get("/console/warnings/{id}/revise")
@page(*OFFICE)
async def revise_form(request: web.Request) -> web.Response:
    kind = request.query.get("action", "")
    if kind not in REVISIONS:
        raise HttpError(422, "invalid", "action must be update, escalate, downgrade or cancel")
    warning_id = path_id(request)
    svc = services(request)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        rules = await tx.rules()
    live_version = warning.live_version() or warning.latest
    values = draft_form.values_of(live_version, rules)
    if kind == "cancel":
        values = draft_form.cancel_values(live_version, rules, svc.clock())
    if kind in ("escalate", "downgrade"):
        values["grade"] = _next_grade(warning, kind) or values["grade"]
    return await _draft_page(
        request,
        values,
        rules=rules,
        action=f"/console/warnings/{warning_id}/revise?action={kind}",
        title=f"{REVISIONS[kind]} · #{warning_id}",
        warning=warning_json(warning, live_version, rules),
        revise=kind,
    )


@routes.post("/console/warnings/{id}/revise")
@page(*OFFICE)
async def revise(request: web.Request) -> web.StreamResponse:
    kind = request.query.get("action", "")
    warning_id = path_id(request)
    svc = services(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
    body, shown = await _posted(request, rules)
    if kind == "cancel":
        body = draft_form.texts_of(await form(request))  # an all-clear changes only its words
    try:
        await run_command(request, warning_id, revise_action(kind), revision(kind, body))
    except DomainError as e:
        return await _draft_page(
            request,
            shown,
            rules=rules,
            action=f"/console/warnings/{warning_id}/revise?action={kind}",
            title=f"{REVISIONS.get(kind, kind)} · #{warning_id}",
            revise=kind,
            error=e,
            status=status_for(e),
        )
    raise web.HTTPSeeOther(f"/console/warnings/{warning_id}")


@routes.post("/console/preview")
@page(*OFFICE)
async def show_preview(request: web.Request) -> web.Response:
    """The draft form as it stands: every channel's message and the audience forecast."""
    svc = services(request)
    now = svc.clock()
    me = actor(request)
    fields = await form(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
        warning_id = whole_number(fields.get("warning_id"))
        loaded = (await tx.warnings.get(warning_id)).warning if warning_id is not None else None
    body, _ = await _posted(request, rules)
    kind = fields.get("revise", "")
    context: dict[str, Any] = {"error": None}
    try:
        if loaded is None:
            warning, _ = commands.draft(body, me, rules, now)
        elif kind in REVISIONS:
            warning = loaded
            revision(kind, draft_form.texts_of(fields) if kind == "cancel" else body)(
                warning, me, rules, now
            )
        else:
            warning = loaded
            commands.edit(warning, body, me, rules, now)
        warning.id = warning.id or 0
        version = warning.latest
        options = preview.from_settings(svc.settings)
        try:  # shown beside the messages: submit would refuse it
            commands.check_words(warning, version, rules)
        except InvalidInput as e:
            context["words"] = e
        messages = preview.preview(warning, version, rules, now, options)
        context.update(
            messages=messages,
            blocking=preview.blocking(messages),
            audience=await forecast(svc, version, rules),
            area_names={c: rules.areas.name(c) for c in version.areas},
            translation_pending=wording.translation_pending(version),
        )
    except DomainError as e:
        context["error"] = e
    defaults = draft_form.catalog_texts(
        draft_form.sketch(
            {**fields, "kind": fields.get("kind") or _kind_of(kind)}, rules, me.username, now
        ),
        rules,
    )
    context["catalog_texts"] = {
        f"{name}_{draft_form.SUFFIX[locale]}": text
        for name, by_locale in defaults.items()
        for locale, text in by_locale.items()
    }
    return await render(request, "draft_preview.html.j2", context)


def _kind_of(revise: str) -> str:
    return revise if revise in REVISIONS else "alert"
