"""The admin's console pages: an overview, users and roles (with the add-user form), the
area tree with its population figures, the residents import, broadcast terminals and the
villages without an information officer. Admins only; every action runs the same code as
the command line or the JSON API (`ewb user add`, `POST /api/v1/residents/import`,
`GET /api/v1/officers/gaps`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web

from store.unit_of_work import audit_refusal
from subscribers import accounts, phones
from subscribers.areas import SAMPLE, AreaFigures
from subscribers.officers import village_gaps
from warning.actors import Role
from warning.areas import AreaTree
from warning.errors import DomainError, InvalidInput
from web import signin
from web.errors import status_for
from web.json_body import posted, whole_number
from web.keys import actor, services
from web.pages import form, form_lists, page, render
from web.passwords import hash_password
from web.residents_api import MAX_LISTED_ERRORS, file_chunks, import_upload
from web.session import CSRF_FIELD, check_csrf

routes = web.RouteTableDef()

ROLES = {
    Role.FORECASTER: "预报员 Forecaster",
    Role.DUTY_CHIEF: "值班主任 Duty chief",
    Role.LEADER: "签发领导 Leader",
    Role.INFO_OFFICER: "灾害信息员 Information officer",
    Role.ADMIN: "管理员 Admin",
}
LEVELS = {
    "county": "县 County",
    "township": "乡镇 Township",
    "village": "村居 Village",
    "extra": "附加区域 Extra area",
}
USER_FIELDS = ("username", "role", "org", "area_codes", "name", "phone", "wecom_id")


def _area_list(codes: Iterable[str], tree: AreaTree) -> list[dict[str, str]]:
    return [{"code": c, "name": tree.name(c)} for c in sorted(codes)]


def _tree_rows(figures: list[AreaFigures]) -> list[dict[str, Any]]:
    """The areas depth first (county, each town, its villages and extra areas) with depth."""
    known = {f.code for f in figures}
    children: dict[str | None, list[AreaFigures]] = defaultdict(list)
    for f in figures:
        children[f.parent if f.parent in known else None].append(f)
    rows: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int) -> None:
        for f in children.get(parent, []):  # figures come ordered by code
            rows.append(
                {
                    "figures": f,
                    "depth": depth,
                    "level": LEVELS.get(f.level, f.level),
                    "sample": f.population_source == SAMPLE,
                }
            )
            walk(f.code, depth + 1)

    walk(None, 0)
    return rows


def _town(tree: AreaTree, code: str) -> str:
    """The name of the township an area lies in ('' for the county itself)."""
    return next((tree.name(c) for c in tree.ancestors(code) if tree.level(c) == "township"), "")


@routes.get("/console/admin")
@page(Role.ADMIN)
async def overview(request: web.Request) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        users = await tx.users.details()
        residents = await tx.residents.count()
        terminals = await tx.terminals.under([svc.settings.issuer_area])
        tree = await tx.areas.tree()
        officers = await tx.users.officers()
        figures = await tx.areas.figures()
    gaps, villages = village_gaps(tree, [o.areas for o in officers])
    online = sum(1 for t in terminals if t.terminal.status == "online")
    counts = {
        "users": len(users),
        "active_users": sum(1 for u in users if u.user.active),
        "residents": residents,
        "areas": len(figures),
        "sample_areas": sum(1 for f in figures if f.population_source == SAMPLE),
        "terminals": len(terminals),
        "online": online,
        "offline": len(terminals) - online,
        "villages": len(villages),
        "gaps": len(gaps),
        "officers": len(officers),
    }
    return await render(request, "admin_overview.html.j2", {"counts": counts})


async def _users_page(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    chosen: Iterable[str] = (),
    error: DomainError | None = None,
    added: str | None = None,
    unlocked: tuple[str, int] | None = None,
    status: int = 200,
) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        users = await tx.users.details()
        tree = await tx.areas.tree()
        figures = await tx.areas.figures()
        blocked = await tx.throttle.blocked(svc.clock())
    if unlocked and not any(d.user.username == unlocked[0] for d in users):
        unlocked = None
    rows = [
        {
            "username": d.user.username,
            "name": d.name,
            "role": ROLES.get(d.user.actor.role, d.user.actor.role.value),
            "org": d.user.actor.org,
            "areas": _area_list(d.user.actor.areas, tree),
            "active": d.user.active,
            "phone": phones.mask(d.phone),
            "blocked": blocked.get(d.user.username, 0),
        }
        for d in users
    ]
    return await render(
        request,
        "admin_users.html.j2",
        {
            "users": rows,
            "roles": ROLES,
            "organisations": svc.catalog.organisations,
            "area_groups": _area_groups(figures),
            "values": {k: (values or {}).get(k, "") for k in USER_FIELDS},
            "chosen": set(chosen),
            "error": error,
            "added": added if added and any(u.user.username == added for u in users) else None,
            "unlocked": unlocked,
            "min_password": accounts.MIN_PASSWORD,
        },
        status=status,
    )


def _area_groups(figures: list[AreaFigures]) -> list[dict[str, Any]]:
    """Options of the areas select: the county, then one group per township holding the
    township itself, its villages and its extra areas."""
    groups: list[dict[str, Any]] = []
    for row in _tree_rows(figures):
        f = row["figures"]
        if f.level in ("county", "township") or not groups:
            groups.append({"label": f"{f.name} {f.code}", "options": []})
        groups[-1]["options"].append(f)
    return groups


@routes.get("/console/admin/users")
@page(Role.ADMIN)
async def users_page(request: web.Request) -> web.Response:
    name, count = request.query.get("unlocked"), request.query.get("addresses", "")
    addresses = whole_number(count)
    unlocked = (name, addresses) if name and addresses is not None else None
    return await _users_page(request, added=request.query.get("added"), unlocked=unlocked)


@routes.post("/console/admin/users/unlock")
@page(Role.ADMIN)
async def unlock_user(request: web.Request) -> web.StreamResponse:
    """`ewb user unlock` from a form: lift the sign-in throttle of every address of a user."""
    svc, who = services(request), actor(request)
    username = (await form(request)).get("username", "")
    cleared = await signin.unlock(svc, username, who.username)  # refusals audited there
    query = urlencode({"unlocked": username, "addresses": cleared})
    raise web.HTTPSeeOther(f"/console/admin/users?{query}")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}", field="role") from None


@routes.post("/console/admin/users")
@page(Role.ADMIN)
async def add_user(request: web.Request) -> web.StreamResponse:
    """`ewb user add` from a form: the same checks, nothing stored unless all pass."""
    svc, who = services(request), actor(request)
    fields = await form(request)
    password = (await posted(request)).get("password")
    password = password if isinstance(password, str) else ""
    chosen = (await form_lists(request, "areas"))["areas"]
    typed = fields.get("area_codes", "").replace("，", ",").replace(";", ",").split(",")
    codes = frozenset(c.strip() for c in [*chosen, *typed] if c.strip())
    try:
        user = accounts.new_user(
            fields.get("username", ""),
            _role(fields.get("role", "")),
            fields.get("org", ""),
            codes,
            name=fields.get("name"),
            phone=fields.get("phone"),
            wecom_id=fields.get("wecom_id"),
        )
        accounts.check_password(password)
        loop = asyncio.get_running_loop()
        password_hash = await loop.run_in_executor(None, hash_password, password)
        async with svc.store.write() as tx:
            await accounts.add_user(tx, svc.catalog, user, password_hash, svc.clock())
            await tx.audit.append(
                at=svc.clock(),
                actor=who.username,
                action="users.add",
                warning_id=None,
                version=None,
                outcome="ok",
                details={
                    "username": user.username,
                    "role": user.role.value,
                    "org": user.org,
                    "areas": sorted(user.areas),
                },
            )
    except DomainError as e:
        await audit_refusal(
            svc.store,
            now=svc.clock(),
            actor=who.username,
            action="users.add",
            warning_id=None,
            version=None,
            error=e,
        )
        return await _users_page(
            request, values=fields, chosen=chosen, error=e, status=status_for(e)
        )
    raise web.HTTPSeeOther(f"/console/admin/users?{urlencode({'added': user.username})}")


@routes.get("/console/admin/areas")
@page(Role.ADMIN)
async def areas_page(request: web.Request) -> web.Response:
    async with services(request).store.read() as tx:
        figures = await tx.areas.figures()
        tree = await tx.areas.tree()
    extra = _tree_rows([f for f in figures if f.level == "extra"])
    for row in extra:
        parent = row["figures"].parent
        row["parent"] = {"code": parent, "name": tree.name(parent)} if parent else None
    return await render(
        request,
        "admin_areas.html.j2",
        {
            "rows": _tree_rows([f for f in figures if f.level != "extra"]),
            "extra": extra,
            "sample_count": sum(1 for f in figures if f.population_source == SAMPLE),
        },
    )


async def _residents_page(
    request: web.Request,
    *,
    report: Any = None,
    error: DomainError | None = None,
    status: int = 200,
) -> web.Response:
    async with services(request).store.read() as tx:
        residents = await tx.residents.count()
    return await render(
        request,
        "admin_residents.html.j2",
        {
            "residents": residents,
            "report": report,
            "errors": report.errors[:MAX_LISTED_ERRORS] if report else [],
            "truncated": bool(report and report.refused > MAX_LISTED_ERRORS),
            "max_errors": MAX_LISTED_ERRORS,
            "error": error,
        },
        status=status,
    )


@routes.get("/console/admin/residents")
@page(Role.ADMIN)
async def residents_page(request: web.Request) -> web.Response:
    return await _residents_page(request)


@routes.post("/console/admin/residents")
@page(Role.ADMIN)
async def residents_import(request: web.Request) -> web.Response:
    """The residents CSV through the API's importer. `page()` leaves multipart forms to
    their handler: the `csrf` field comes first and is checked before the file is read."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput("send the form as multipart/form-data", field="file")
    reader = await request.multipart()
    first = await reader.next()
    given = (
        await first.text()
        if isinstance(first, BodyPartReader) and first.name == CSRF_FIELD
        else None
    )
    check_csrf(request, given)
    try:
        report = await import_upload(request, file_chunks(reader))
    except DomainError as e:
        return await _residents_page(request, error=e, status=status_for(e))
    return await _residents_page(request, report=report)


@routes.get("/console/admin/terminals")
@page(Role.ADMIN)
async def terminals_page(request: web.Request) -> web.Response:
    svc = services(request)
    async with svc.store.read() as tx:
        terminals = await tx.terminals.under([svc.settings.issuer_area])
        tree = await tx.areas.tree()
    rows = [
        {
            "id": t.terminal.id,
            "name": t.terminal.name,
            "area": {"code": t.terminal.area_code, "name": tree.name(t.terminal.area_code)},
            "town": _town(tree, t.terminal.area_code),
            "endpoint_id": t.terminal.endpoint_id,
            "online": t.terminal.status == "online",
            "population": t.population,
            "population_given": t.terminal.covered_population is not None,
            "last_heartbeat_at": t.last_heartbeat_at.astimezone(svc.settings.tz)
            if t.last_heartbeat_at
            else None,
        }
        for t in terminals
    ]
    online = [r for r in rows if r["online"]]
    counts = {
        "terminals": len(rows),
        "online": len(online),
        "offline": len(rows) - len(online),
        "population": sum(r["population"] for r in rows),
        "online_population": sum(r["population"] for r in online),
    }
    rows.sort(key=lambda r: (r["online"], r["id"]))  # offline first: they need attention
    return await render(request, "admin_terminals.html.j2", {"terminals": rows, "counts": counts})


@routes.get("/console/admin/officers")
@page(Role.ADMIN)
async def officers_page(request: web.Request) -> web.Response:
    async with services(request).store.read() as tx:
        tree = await tx.areas.tree()
        officers = await tx.users.officers()
    gaps, villages = village_gaps(tree, [o.areas for o in officers])
    return await render(
        request,
        "admin_officers.html.j2",
        {
            "gaps": [
                {
                    "code": v.code,
                    "name": v.name,
                    "town": tree.name(v.parent) if v.parent else "",
                }
                for v in gaps
            ],
            "villages": len(villages),
            "officers": [
                {
                    "username": o.username,
                    "name": o.name,
                    "phone": phones.mask(o.phone),
                    "wecom_id": phones.mask_id(o.wecom_id),
                    "areas": _area_list(o.areas, tree),
                }
                for o in officers
            ],
        },
    )
