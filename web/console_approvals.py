"""The approvals queue: the submitted versions awaiting the signed-in duty chief or leader.

"Awaiting me" is decided by the domain itself: the approve command is tried on a copy
of each submitted warning (`pages.can`), so the queue holds exactly what this user's
approval would be accepted for: not their own drafts, not a step for another role,
not a version they approved already. Each card carries the review (messages, audience)
whose digest its approve button sends, as the warning page does.
"""

from __future__ import annotations

from aiohttp import web

from warning.actors import Role
from web.keys import actor, services
from web.pages import can, page, render
from web.review import may_approve, review
from web.serialize import version_json

routes = web.RouteTableDef()


@routes.get("/console/approvals")
@page(Role.DUTY_CHIEF, Role.LEADER)
async def queue(request: web.Request) -> web.Response:
    svc = services(request)
    me, now = actor(request), svc.clock()
    async with svc.store.read() as tx:
        pairs, _ = await tx.warnings.list_latest(
            state="submitted", hazard=None, grade=None, limit=500, offset=0
        )
        rules = await tx.rules()
        loaded = [(await tx.warnings.get(wid)).warning for wid, _ in pairs]
    mine, others = [], []
    for warning in loaded:
        assert warning.id is not None
        view = version_json(warning.id, warning.latest, rules)
        if can(may_approve, warning, me, rules, now):
            view["review"] = await review(request, warning, warning.latest, rules)
            mine.append(view)
        else:
            view["own"] = warning.latest.wrote(me.username)
            others.append(view)
    return await render(request, "approvals.html.j2", {"mine": mine, "others": others})
