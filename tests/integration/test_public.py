"""The public JSON list, the Atom feed of CAP alerts, and each alert's CAP: no sign-in,
actual warnings in force only."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from ewb.services import Services
from tests.integration.conftest import Api
from tests.integration.flows import issue_new, ok, release

ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
CJG = "320921101"


async def test_the_feed_lists_actual_warnings_in_force_and_links_their_cap(
    api: Api, services: Services
) -> None:
    red = await issue_new(api, grade="red", areas=[CJG])
    await issue_new(api, grade="yellow", areas=[CJG], mode="exercise")  # never public
    client = api.client

    async with client.get("/feeds/cap.atom") as answer:  # no token
        assert answer.status == 200
        assert answer.content_type == "application/atom+xml"
        feed = ET.fromstring(await answer.read())
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    [entry] = entries
    assert "台风红色预警" in (entry.findtext(f"{ATOM}title") or "")
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("type") == "application/cap+xml"
    async with client.get(urlsplit(link.get("href") or "").path) as answer:
        assert answer.status == 200 and answer.content_type == "application/cap+xml"
        document = await answer.read()
    services.validate_cap(document)  # the OASIS CAP 1.2 schema
    descriptions = {
        info.findtext(f"{CAP}language"): info.findtext(f"{CAP}area/{CAP}areaDesc")
        for info in ET.fromstring(document).iter(f"{CAP}info")
    }
    assert descriptions == {"zh-CN": "陈家港镇", "en": "Chenjiagang Town"}
    identifier = ET.fromstring(document).findtext(
        "{urn:oasis:names:tc:emergency:cap:1.2}identifier"
    )
    assert entry.findtext(f"{ATOM}id") == f"urn:oid:{identifier}"

    async with client.get("/public/warnings.json") as answer:
        listed = await answer.json()
    [shown] = listed["warnings"]
    assert (shown["id"], shown["grade"]) == (red["id"], "red")
    assert shown["areas"] == [{"code": CJG, "name": "陈家港镇", "name_en": "Chenjiagang Town"}]
    assert shown["headline"]["en"] and shown["instruction"]["zh-CN"]

    # An all-clear takes it off the feed; its CAP is no longer public.
    await ok(api.post(f"/warnings/{red['id']}/revisions", "forecaster", {"action": "cancel"}), 201)
    await release(api, red["id"], ["duty_chief"])
    async with client.get("/feeds/cap.atom") as answer:
        assert ET.fromstring(await answer.read()).findall(f"{ATOM}entry") == []
    async with client.get(f"/public/warnings/{red['id']}/cap.xml") as answer:
        assert answer.status == 404 and (await answer.json())["error"] == "not_found"
    async with client.get("/public/warnings.json") as answer:
        assert (await answer.json())["warnings"] == []
