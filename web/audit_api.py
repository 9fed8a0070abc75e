"""GET /api/v1/audit: the audit log, optionally for one warning, paged by seq."""

from __future__ import annotations

from aiohttp import web

from web.json_body import int_param
from web.keys import services
from web.responses import json_response
from web.serialize import audit_json

routes = web.RouteTableDef()


@routes.get("/api/v1/audit")
async def index(request: web.Request) -> web.Response:
    svc = services(request)
    warning_id = int_param(request, "warning_id", low=1)
    after = int_param(request, "after", default=0, low=0)
    limit = int_param(request, "limit", default=200, low=1, high=1000)
    assert after is not None and limit is not None
    async with svc.store.read() as tx:
        entries = await tx.audit.entries(warning_id=warning_id, after=after, limit=limit)
    tz = svc.settings.tz
    return json_response({"entries": [audit_json(e, tz) for e in entries]})
