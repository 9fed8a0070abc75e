"""The information officer's pages, made for a phone: the warnings in force that concern
my areas, and for one warning: acknowledge it, call the residents nobody reached, report
a relay. Acknowledging and reporting go through the same code as the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from reach.report import chosen_version
from store.db import Tx
from store.progress import Unreached
from subscribers import access, phones
from subscribers.officers import serves
from warning import texts
from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.errors import DomainError, PermissionDenied
from warning.model import Version, Warning
from warning.rules import Rules
from web.acks_api import acknowledge_warning
from web.coverage_api import report_relay
from web.errors import status_for
from web.json_body import path_id
from web.keys import services
from web.pages import form, form_lists, page, render, signed_in

routes = web.RouteTableDef()

HOME = "/console/officer"
NOTICES = {
    "ack": ("已确认收到。", "Acknowledged."),
    "relay": ("转告情况已上报，所报居民已计为已通知。", "Relay report recorded."),
}


def in_force(warning: Warning, now: datetime) -> Version | None:
    """The issued version if it still warns of something: not an all-clear, not expired."""
    version = warning.live_version()
    if version is None or version.is_cancel or version.expires <= now:
        return None
    return version


@dataclass(frozen=True)
class Card:
    """One warning as the officer's pages show it."""

    id: int
    version: Version
    hazard_zh: str
    hazard_en: str
    headline_zh: str
    headline_en: str
    instruction_zh: str
    instruction_en: str
    areas: str
    issued_at: str
    expires: str
    sent: bool  # the issued version was sent to me: I can acknowledge it
    acknowledged_at: str | None


def local(moment: datetime | None, rules: Rules) -> str:
    return moment.astimezone(rules.tz).strftime("%m-%d %H:%M") if moment else "—"


async def card(tx: Tx, warning_id: int, version: Version, who: Actor, rules: Rules) -> Card:
    found = await tx.timers.officer_deliveries(warning_id, version.number, who.username, lock=False)
    acked = [at for _, at in found if at is not None]
    hazard = rules.catalog.hazard(version.hazard)
    return Card(
        id=warning_id,
        version=version,
        hazard_zh=hazard.name["zh-CN"],
        hazard_en=hazard.name["en"],
        headline_zh=texts.headline(version, rules, "zh-CN"),
        headline_en=texts.headline(version, rules, "en"),
        instruction_zh=texts.instruction(version, rules, "zh-CN"),
        instruction_en=texts.instruction(version, rules, "en"),
        areas="、".join(rules.areas.name(c) for c in version.areas),
        issued_at=local(version.issued_at, rules),
        expires=local(version.expires, rules),
        sent=bool(found),
        acknowledged_at=local(min(acked), rules) if acked else None,
    )


@routes.get(HOME)
@page(Role.INFO_OFFICER)
async def index(request: web.Request) -> web.Response:
    """The warnings in force concerning my areas, most severe and newest first."""
    svc, who = services(request), signed_in(request).actor
    now = svc.clock()
    cards = []
    async with svc.store.read() as tx:
        rules = await tx.rules()
        for warning_id in await tx.warnings.ids_in_force():
            version = in_force((await tx.warnings.get(warning_id)).warning, now)
            if version is not None and serves(who.areas, version.areas, rules.areas):
                cards.append(await card(tx, warning_id, version, who, rules))
    cards.sort(
        key=lambda c: (c.version.grade.rank, c.version.issued_at or c.version.created_at),
        reverse=True,
    )
    mine = "、".join(rules.areas.name(c) for c in sorted(who.areas))
    return await render(request, "officer.html.j2", {"cards": cards, "mine": mine})


@dataclass(frozen=True)
class Group:
    """The unreached residents of one village."""

    code: str
    name: str
    people: list[dict[str, Any]]


def by_village(found: list[Unreached], tree: AreaTree) -> list[Group]:
    """Grouped per village. The whole number is for the call link (calling them is the
    point); the page shows it masked, and it is never logged."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in found:  # in area order
        groups.setdefault(p.area_code, []).append(
            {
                "id": p.resident_id,
                "name": p.name,
                "phone": p.phone,
                "masked": phones.mask(p.phone),
                "channels": p.channels,
            }
        )
    return [Group(code, tree.name(code), people) for code, people in groups.items()]


async def _detail(
    request: web.Request,
    *,
    error: DomainError | None = None,
    status: int = 200,
    posted: dict[str, Any] | None = None,
) -> web.Response:
    """One warning: acknowledgement, the unreached residents of my villages, relays."""
    svc, who = services(request), signed_in(request).actor
    warning_id = path_id(request)
    async with svc.store.read() as tx:
        rules = await tx.rules()
        warning = (await tx.warnings.get(warning_id)).warning
        version = chosen_version(warning, None)  # the one relays and reach are counted for
        if not serves(who.areas, version.areas, rules.areas):
            raise PermissionDenied(
                f"warning {warning_id} does not concern your areas", rule="area_scope"
            )
        live = warning.live_version()  # the one acknowledged (an all-clear, once issued)
        shown = await card(tx, warning_id, live or version, who, rules)
        # The same residents and scope as GET /api/v1/warnings/{id}/unreachable.
        access.require(who, access.VIEW, "see who could not be reached")
        unreached = await tx.progress.unreached(warning_id, version.number, sorted(who.areas))
        leaves = await tx.reach.leaf_areas(version.areas)
        relays = await tx.reach.relays(warning_id, version.number)
    villages = [  # where I may report a relay: the targeted villages of my scope
        {"code": code, "name": name, "households": households}
        for code, name, _, households in leaves
        if rules.areas.is_within(code, who.areas)
    ]
    done = NOTICES.get(request.query.get("done", "")) if error is None else None
    context = {
        "card": shown,
        "live": live,
        "villages": villages,
        "groups": by_village(unreached, rules.areas),
        "unreached": len(unreached),
        "relays": [
            {
                "area": rules.areas.name(r.area_code),
                "officer": r.officer,
                "households": r.households,
                "residents": r.residents,
                "note": r.note,
                "at": local(r.created_at, rules),
            }
            for r in relays
            if rules.areas.is_within(r.area_code, who.areas)
        ],
        "done": done,
        "error": error,
        "posted": posted or {},
    }
    return await render(request, "officer_warning.html.j2", context, status=status)


@routes.get(HOME + "/warnings/{id}")
@page(Role.INFO_OFFICER)
async def show(request: web.Request) -> web.Response:
    return await _detail(request)


@routes.post(HOME + "/warnings/{id}/acknowledge")
@page(Role.INFO_OFFICER)
async def acknowledge(request: web.Request) -> web.StreamResponse:
    svc, who = services(request), signed_in(request).actor
    warning_id = path_id(request)
    try:
        await acknowledge_warning(svc, who, warning_id)
    except DomainError as e:
        return await _detail(request, error=e, status=status_for(e))
    raise web.HTTPSeeOther(f"{HOME}/warnings/{warning_id}?done=ack")


def _whole(text: str) -> int | str:
    """A whole number as typed; anything else is left for the API's checks to refuse."""
    return int(text) if text.isdecimal() else text


def relay_body(fields: dict[str, str], named: list[str]) -> dict[str, Any]:
    """The form's fields as the API's JSON body."""
    return {
        "area": fields.get("area", ""),
        "households": _whole(fields.get("households") or "0"),
        "residents": [_whole(n) for n in named],
        "note": fields.get("note") or None,
    }


@routes.post(HOME + "/warnings/{id}/relays")
@page(Role.INFO_OFFICER)
async def add_relay(request: web.Request) -> web.StreamResponse:
    svc, who = services(request), signed_in(request).actor
    warning_id = path_id(request)
    fields = await form(request)
    named = (await form_lists(request, "residents"))["residents"]
    body = relay_body(fields, named)

    async def read_body() -> dict[str, Any]:
        return body

    try:
        await report_relay(svc, who, warning_id, lambda: None, read_body)
    except DomainError as e:
        posted = {**fields, "residents": named}
        return await _detail(request, error=e, status=status_for(e), posted=posted)
    raise web.HTTPSeeOther(f"{HOME}/warnings/{warning_id}?done=relay")
