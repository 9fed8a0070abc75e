"""CAP 1.2 over HTTP: export an issued version, import an alert as a draft."""

from __future__ import annotations

from aiohttp import web

from store.db import Tx
from store.unit_of_work import run
from warning import cap, commands
from warning.events import Event
from warning.model import Warning
from warning.rules import Rules
from web.json_body import int_param, path_id
from web.keys import actor, services
from web.responses import json_response
from web.serialize import warning_json

routes = web.RouteTableDef()

CAP_CONTENT_TYPE = "application/cap+xml"


@routes.get("/api/v1/warnings/{id}/cap")
async def export(request: web.Request) -> web.Response:
    svc = services(request)
    number = int_param(request, "version", low=1)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(path_id(request))).warning
        rules = await tx.rules()
    body = cap.to_cap(warning, warning.version(number), rules)
    return web.Response(body=body, content_type=CAP_CONTENT_TYPE, charset="utf-8")


@routes.post("/api/v1/cap")
async def import_alert(request: web.Request) -> web.Response:
    """A valid CAP 1.2 alert becomes a draft of the caller; an invalid one gets 422."""
    svc, who = services(request), actor(request)
    document = await request.read()
    svc.validate_cap(document)
    raw = cap.read_alert(document, svc.catalog)
    now = svc.clock()

    async def work(tx: Tx, rules: Rules) -> tuple[Warning, list[Event]]:
        warning, events = commands.draft(raw, who, rules, now)
        await tx.warnings.add(warning, now)
        return warning, events

    warning, rules = await run(
        svc.store, work, now=now, actor=who, action="cap_import", warning_id=None
    )
    return json_response(warning_json(warning, warning.latest, rules), status=201)
