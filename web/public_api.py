"""What the public sees without signing in: the warnings in force as JSON, an Atom feed of
their CAP alerts (`/feeds/cap.atom`, one entry per alert linking its CAP XML, as public
alert aggregators read it) and each alert's CAP document. Only `actual` warnings: an
exercise or a test is never published, nor an all-clear once it is issued."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from warning import cap, texts
from warning.errors import NotFound
from warning.model import Mode, State, Version, Warning
from warning.rules import Rules
from web.cap_api import CAP_CONTENT_TYPE
from web.json_body import path_id
from web.keys import services
from web.responses import json_response
from web.serialize import iso

routes = web.RouteTableDef()
ATOM = "http://www.w3.org/2005/Atom"
FEED_TITLE = "响水县突发事件预警信息 · Xiangshui county warnings in force"


def in_force(warning: Warning) -> Version | None:
    """The warning's issued version if the public should see it."""
    version = next((v for v in reversed(warning.versions) if v.state is State.ISSUED), None)
    if version is None or version.is_cancel or version.mode is not Mode.ACTUAL:
        return None
    return version


async def warnings_in_force(request: web.Request) -> tuple[list[tuple[Warning, Version]], Rules]:
    """What the public sees, highest grade first, then the oldest issued; and the rules."""
    svc = services(request)
    found = []
    async with svc.store.read() as tx:
        for warning_id in await tx.warnings.ids_in_force():
            warning = (await tx.warnings.get(warning_id)).warning
            version = in_force(warning)
            if version is not None:
                found.append((warning, version))
        rules = await tx.rules()
    found.sort(key=lambda pair: (-pair[1].grade.rank, pair[1].issued_at or pair[1].created_at))
    return found, rules


def cap_url(request: web.Request, warning_id: int) -> str:
    base = services(request).settings.public_base_url.rstrip("/")
    return f"{base}/public/warnings/{warning_id}/cap.xml"


def public_json(request: web.Request, warning: Warning, version: Version, rules: Rules) -> Any:
    tz = rules.tz
    assert warning.id is not None
    return {
        "id": warning.id,
        "version": version.number,
        "identifier": version.cap_identifier,
        "hazard": version.hazard,
        "grade": version.grade.value,
        "areas": [
            {"code": c, "name": rules.areas.name(c), "name_en": rules.areas.name_en(c)}
            for c in version.areas
        ],
        "onset": iso(version.onset, tz),
        "expires": iso(version.expires, tz),
        "issued_at": iso(version.issued_at, tz),
        **texts.all_texts(version, rules),
        "cap": cap_url(request, warning.id),
    }


@routes.get("/public/warnings.json")
async def warnings_json(request: web.Request) -> web.Response:
    found, rules = await warnings_in_force(request)
    return json_response(
        {
            "generated_at": iso(services(request).clock(), rules.tz),
            "warnings": [public_json(request, w, v, rules) for w, v in found],
        }
    )


@routes.get("/feeds/cap.atom")
async def atom(request: web.Request) -> web.Response:
    svc = services(request)
    found, rules = await warnings_in_force(request)
    base = svc.settings.public_base_url.rstrip("/")
    # The default namespace as an attribute: ElementTree's register_namespace would
    # change how every other document of the process (CAP) is written.
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = f"{base}/feeds/cap.atom"
    ET.SubElement(feed, "title").text = FEED_TITLE
    stamps = [v.issued_at for _, v in found if v.issued_at is not None]
    updated = max(stamps) if stamps else svc.clock()
    ET.SubElement(feed, "updated").text = iso(updated, rules.tz)
    ET.SubElement(feed, "link", rel="self", href=f"{base}/feeds/cap.atom")
    for warning, version in found:
        assert warning.id is not None
        hazard = rules.catalog.hazard(version.hazard)
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = f"urn:oid:{version.cap_identifier}"
        ET.SubElement(entry, "title").text = texts.headline(version, rules, "zh-CN")
        ET.SubElement(entry, "updated").text = iso(version.issued_at, rules.tz)
        author = ET.SubElement(entry, "author")
        org = rules.catalog.organisation(hazard.org)
        ET.SubElement(author, "name").text = org.name["zh-CN"]
        ET.SubElement(entry, "summary").text = texts.description(version, rules, "zh-CN")
        ET.SubElement(
            entry,
            "link",
            rel="alternate",
            type=CAP_CONTENT_TYPE,
            href=cap_url(request, warning.id),
        )
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


@routes.get("/public/warnings/{id}/cap.xml")
async def cap_document(request: web.Request) -> web.Response:
    """The CAP 1.2 alert of a warning in force; 404 for any other."""
    svc = services(request)
    warning_id = path_id(request)
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        rules = await tx.rules()
    version = in_force(warning)
    if version is None:
        raise NotFound(f"warning {warning_id} is not in force")
    body = cap.to_cap(warning, version, rules)
    return web.Response(body=body, content_type=CAP_CONTENT_TYPE, charset="utf-8")
