"""GET /api/v1/audit: the audit log, optionally for one warning, paged by seq.

The county's whole record: the issuing office, its chiefs and leaders and the admin read
it; an information officer (one village's relay) is refused, and the refusal audited."""

from __future__ import annotations

from aiohttp import web

from store.unit_of_work import audit_refusal
from warning.actors import Role
from warning.errors import PermissionDenied
from web.json_body import int_param
from web.keys import actor, services
from web.responses import json_response
from web.serialize import audit_json

routes = web.RouteTableDef()


READERS = frozenset({Role.FORECASTER, Role.DUTY_CHIEF, Role.LEADER, Role.ADMIN})


@routes.get("/api/v1/audit")
async def index(request: web.Request) -> web.Response:
    svc = services(request)
    who = actor(request)
    if who.role not in READERS:
        allowed = ", ".join(sorted(r.value for r in READERS))
        refusal = PermissionDenied(
            f"a {who.role.value} may not read the county's audit log (allowed: {allowed})",
            rule="role",
        )
        await audit_refusal(
            svc.store,
            now=svc.clock(),
            actor=who.username,
            action="audit.read",
            warning_id=None,
            version=None,
            error=refusal,
        )
        raise refusal
    warning_id = int_param(request, "warning_id", low=1)
    after = int_param(request, "after", default=0, low=0)
    limit = int_param(request, "limit", default=200, low=1, high=1000)
    assert after is not None and limit is not None
    async with svc.store.read() as tx:
        entries = await tx.audit.entries(warning_id=warning_id, after=after, limit=limit)
    tz = svc.settings.tz
    return json_response({"entries": [audit_json(e, tz) for e in entries]})
