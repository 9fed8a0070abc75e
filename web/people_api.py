"""Areas, terminals, officer gaps and the audience forecast of a warning, over HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ewb.services import Services
from subscribers.officers import village_gaps
from subscribers.segmentation import spec_for
from warning.model import Version
from warning.rules import Rules
from web.errors import HttpError
from web.keys import services
from web.responses import json_response
from web.serialize import iso
from web.warnings_api import read_warning

routes = web.RouteTableDef()


@routes.get("/api/v1/areas")
async def areas(request: web.Request) -> web.Response:
    """Every area with population, households and where the figures come from."""
    async with services(request).store.read() as tx:
        figures = await tx.areas.figures()
    return json_response(
        {
            "areas": [
                {
                    "code": f.code,
                    "name": f.name,
                    "parent_code": f.parent,
                    "level": f.level,
                    "population": f.population,
                    "households": f.households,
                    "population_source": f.population_source,
                }
                for f in figures
            ]
        }
    )


@routes.get("/api/v1/terminals")
async def terminals(request: web.Request) -> web.Response:
    svc = services(request)
    area = request.query.get("area") or svc.settings.issuer_area
    async with svc.store.read() as tx:
        if area not in await tx.areas.tree():
            raise HttpError(422, "invalid", f"unknown area {area}", "area")
        found = await tx.terminals.under([area])
    tz = svc.settings.tz
    return json_response(
        {
            "terminals": [
                {
                    "id": t.terminal.id,
                    "name": t.terminal.name,
                    "area_code": t.terminal.area_code,
                    "endpoint_id": t.terminal.endpoint_id,
                    "status": t.terminal.status,
                    "covered_population": t.population,
                    "covered_population_given": t.terminal.covered_population is not None,
                    "last_heartbeat_at": iso(t.last_heartbeat_at, tz),
                }
                for t in found
            ]
        }
    )


@routes.get("/api/v1/officers/gaps")
async def officer_gaps(request: web.Request) -> web.Response:
    """Villages with no information officer (the plan asks for one per community)."""
    async with services(request).store.read() as tx:
        tree = await tx.areas.tree()
        officers = await tx.users.officers()
    gaps, villages = village_gaps(tree, [o.areas for o in officers])
    return json_response(
        {
            "villages_without_officer": [
                {
                    "code": v.code,
                    "name": v.name,
                    "township_code": v.parent,
                    "township": tree.name(v.parent) if v.parent else None,
                }
                for v in gaps
            ],
            "count": len(gaps),
            "villages": len(villages),
            "officers": len(officers),
        }
    )


async def forecast(svc: Services, version: Version, rules: Rules) -> dict[str, Any]:
    """Who `version` would reach, per area, group and channel, with officers and terminals."""
    spec = spec_for(version, rules.catalog)
    async with svc.store.read() as tx:
        result = await tx.recipients.audience(spec)
        officers = await tx.users.officers()
    result.officers = sum(
        1
        for o in officers
        if any(
            rules.areas.is_within(a, version.areas) or rules.areas.is_within(t, o.areas)
            for a in o.areas
            for t in version.areas
        )
    )
    return {
        "mode": version.mode.value,
        "people": result.people,
        "by_area": result.by_area,
        "by_group": result.by_group,
        "by_channel": result.by_channel,
        "officers": result.officers,
        "terminals": result.terminals,
        "terminals_online": result.terminals_online,
        "terminal_population": result.terminal_population,
        "unreachable": result.unreachable,
        "unreachable_by_area": result.unreachable_by_area,
        "unreachable_no_voice": result.unreachable_no_voice,
    }


@routes.get("/api/v1/warnings/{id}/audience")
async def audience(request: web.Request) -> web.Response:
    """Who a version would reach, per area, group and channel: the duty chief's forecast."""
    warning, version, rules = await read_warning(request)
    found = await forecast(services(request), version, rules)
    return json_response({"id": warning.id, "version": version.number, **found})
