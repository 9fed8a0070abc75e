"""Information officers acknowledge the warnings sent to them (the timers remind those
who do not, then tell the duty chief)."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from ewb.services import Services
from subscribers import access
from warning.actors import Actor, Role
from warning.errors import InvalidTransition, NotFound
from warning.model import State
from web.json_body import path_id
from web.keys import actor, services
from web.responses import json_response
from web.serialize import iso

log = logging.getLogger("ewb.web.acks")

routes = web.RouteTableDef()

OFFICERS = frozenset({Role.INFO_OFFICER})
DETAIL = "app"  # the detail of an acknowledgement given here (an SMS reply: "reply <sid>")


async def acknowledge_warning(svc: Services, who: Actor, warning_id: int) -> tuple[int, datetime]:
    """`who` acknowledges the warning's issued version on every delivery of it they were
    sent; again, it records nothing new. The version and the first acknowledgement's time.

    The API and the officer's console page both acknowledge through this."""
    access.require(who, OFFICERS, "acknowledge a warning")
    now = svc.clock()
    async with svc.store.write() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        version = next((v for v in reversed(warning.versions) if v.state is State.ISSUED), None)
        if version is None:
            raise InvalidTransition(f"warning {warning_id} has no issued version to acknowledge")
        found = await tx.timers.officer_deliveries(warning_id, version.number, who.username)
        if not found:
            raise NotFound(f"warning {warning_id} v{version.number} was not sent to you")
        new = [delivery_id for delivery_id, at in found if at is None]
        for delivery_id in new:
            await tx.deliveries.append(delivery_id, "acknowledged", now, None, DETAIL)
    first = min((at for _, at in found if at is not None), default=now)
    if new:
        log.info(
            "warning %s v%s acknowledged by officer %s (deliveries %s)",
            warning_id,
            version.number,
            who.username,
            new,
        )
    return version.number, first


@routes.post("/api/v1/warnings/{id}/acknowledge")
async def acknowledge(request: web.Request) -> web.Response:
    """The signed-in officer acknowledges the warning's issued version on every delivery
    of it they were sent; again, it records nothing new and answers the same."""
    svc = services(request)
    warning_id = path_id(request)
    number, first = await acknowledge_warning(svc, actor(request), warning_id)
    return json_response(
        {
            "warning_id": warning_id,
            "version": number,
            "acknowledged_at": iso(first, svc.settings.tz),
        }
    )
