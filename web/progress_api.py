"""A warning's fan-out over HTTP: progress, and the residents nobody could reach."""

from __future__ import annotations

from aiohttp import web

from delivery.progress import report
from subscribers import access, phones
from warning.errors import InvalidInput
from web.keys import actor, services
from web.responses import json_response
from web.serialize import iso
from web.warnings_api import read_warning

routes = web.RouteTableDef()


@routes.get("/api/v1/warnings/{id}/progress")
async def progress(request: web.Request) -> web.Response:
    """Counts per channel and state, rate, and the time left (`ewb watch` reads the same)."""
    svc = services(request)
    warning, version, _ = await read_warning(request)
    assert warning.id is not None
    async with svc.store.read() as tx:
        found = await tx.progress.progress(warning.id, version.number, svc.clock())
    return json_response(report(warning.id, version.number, found))


@routes.get("/api/v1/warnings/{id}/unreachable")
async def unreachable(request: web.Request) -> web.Response:
    """Residents no channel reached, by area; an officer sees those of their own areas."""
    svc, who = services(request), actor(request)
    access.require(who, access.VIEW, "see who could not be reached")
    warning, version, rules = await read_warning(request)
    assert warning.id is not None
    scope = sorted(who.areas)
    area = request.query.get("area")
    if area:  # one area of the caller's scope (a village of the coverage gap list)
        if area not in rules.areas:
            raise InvalidInput(f"unknown area {area!r}", field="area")
        access.require_areas(who, [area], rules.areas)
        scope = [area]
    async with svc.store.read() as tx:
        found = await tx.progress.unreached(warning.id, version.number, scope)
    by_area: dict[str, int] = {}
    for person in found:
        by_area[person.area_code] = by_area.get(person.area_code, 0) + 1
    return json_response(
        {
            "warning_id": warning.id,
            "version": version.number,
            "count": len(found),
            "by_area": by_area,
            "residents": [
                {
                    "resident_id": p.resident_id,
                    "external_id": p.external_id,
                    "name": p.name,
                    "area_code": p.area_code,
                    "area_name": rules.areas.name(p.area_code),
                    "phone": phones.mask(p.phone),
                    "channels_tried": list(p.channels),
                    "last_error": p.last_error,
                }
                for p in found
            ],
            "generated_at": iso(svc.clock(), svc.settings.tz),
        }
    )
