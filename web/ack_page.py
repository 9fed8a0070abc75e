"""The page a resident's WeChat message opens (`/ack/<token>`, no sign-in): the warning's
headline and instruction, and a button to acknowledge it. The token is the signed
delivery (reach/links.py); acknowledging records an `acknowledged` event on it, which
counts the resident as reached (reach/rules.py). A GET changes nothing (link previews
fetch pages); the button POSTs."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reach.links import PATH, delivery_of
from store.deliveries import Delivery
from warning import texts
from web.headers import DOCUMENT_CSP
from web.keys import services

log = logging.getLogger("ewb.web.ack")

routes = web.RouteTableDef()
DETAIL = "wechat link"  # the detail of an acknowledgement given on this page

_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates" / "pages"),
    undefined=StrictUndefined,
    autoescape=True,
)


async def _found(request: web.Request) -> Delivery | None:
    svc = services(request)
    delivery_id = delivery_of(request.match_info["token"], svc.link_key)
    if delivery_id is None:
        return None
    async with svc.store.read() as tx:
        return await tx.deliveries.get(delivery_id)


_HEADERS = {"Content-Security-Policy": DOCUMENT_CSP, "Cache-Control": "no-store"}


async def _page(request: web.Request, delivery: Delivery | None) -> web.Response:
    if delivery is None:
        html = _PAGES.get_template("ack.html.j2").render(missing=True, headline="ewb")
        return web.Response(text=html, content_type="text/html", status=404, headers=_HEADERS)
    svc = services(request)
    async with svc.store.read() as tx:
        version = (await tx.warnings.get(delivery.warning_id)).warning.version(delivery.version)
        rules = await tx.rules()
        acknowledged = [
            e.at for e in await tx.deliveries.events(delivery.id) if e.event == "acknowledged"
        ]
    html = _PAGES.get_template("ack.html.j2").render(
        missing=False,
        grade=version.grade.value,
        headline=texts.headline(version, rules, "zh-CN"),
        headline_en=texts.headline(version, rules, "en"),
        instruction=texts.instruction(version, rules, "zh-CN"),
        instruction_en=texts.instruction(version, rules, "en"),
        acknowledged_at=(
            acknowledged[0].astimezone(svc.settings.tz).strftime("%Y-%m-%d %H:%M")
            if acknowledged
            else None
        ),
    )
    return web.Response(text=html, content_type="text/html", headers=_HEADERS)


@routes.get(PATH + "{token}")
async def show(request: web.Request) -> web.Response:
    return await _page(request, await _found(request))


@routes.post(PATH + "{token}")
async def acknowledge(request: web.Request) -> web.Response:
    """Record the acknowledgement once; answer the page showing it."""
    delivery = await _found(request)
    if delivery is not None:
        svc = services(request)
        async with svc.store.write() as tx:
            if not await tx.deliveries.has_event(delivery.id, "acknowledged"):
                await tx.deliveries.append(delivery.id, "acknowledged", svc.clock(), None, DETAIL)
                log.info("delivery_id=%s acknowledged by its WeChat link", delivery.id)
    return await _page(request, delivery)
