"""CAP 1.2 over HTTP: export an issued version, import an alert as a draft."""

from __future__ import annotations

from aiohttp import web

from store import unit_of_work
from warning import cap
from web.keys import actor, services
from web.responses import json_response
from web.serialize import warning_json
from web.warnings_api import read_warning

routes = web.RouteTableDef()

CAP_CONTENT_TYPE = "application/cap+xml"


@routes.get("/api/v1/warnings/{id}/cap")
async def export(request: web.Request) -> web.Response:
    warning, version, rules = await read_warning(request)
    body = cap.to_cap(warning, version, rules)
    return web.Response(body=body, content_type=CAP_CONTENT_TYPE, charset="utf-8")


@routes.post("/api/v1/cap")
async def import_alert(request: web.Request) -> web.Response:
    """A valid CAP 1.2 alert becomes a draft of the caller; an invalid one gets 422."""
    svc = services(request)
    document = await request.read()
    svc.validate_cap(document)
    raw = cap.read_alert(document, svc.catalog)
    warning, rules = await unit_of_work.create(
        svc.store, raw, now=svc.clock(), actor=actor(request), action="cap_import"
    )
    return json_response(warning_json(warning, warning.latest, rules), status=201)
