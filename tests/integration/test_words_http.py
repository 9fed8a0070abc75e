"""Over HTTP: what is approved is what goes out. Own texts naming another grade are
refused at submit and at approval; an approval holds the digest of the messages it saw,
and an issue is refused once the messages rendered now differ from them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from ewb.services import Services
from store.tables import areas, warning_versions
from tests.integration.conftest import Api
from tests.integration.flows import draft, ok
from tests.support import CHENJIAGANG

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


async def audited_refusals(services: Services, actor: str, action: str) -> int:
    async with services.store.read() as tx:
        return await tx.audit.count(actor=actor, action=action, outcome="refused", since=EPOCH)


async def test_another_grades_colour_is_refused_at_submit(api: Api, services: Services) -> None:
    wid = (await draft(api, grade="red", description="陈家港镇将出现蓝色预警标准的大风。"))["id"]
    refused = await api.post(f"/warnings/{wid}/submit", "forecaster")
    assert (refused.status, refused.body["error"], refused.body["field"]) == (
        422,
        "invalid",
        "description",
    )
    assert "蓝色" in refused.body["message"] and "红色" in refused.body["message"]
    shown = await ok(api.get(f"/warnings/{wid}", "forecaster"))
    assert shown["state"] == "draft"
    assert await audited_refusals(services, "forecaster", "submit") == 1


async def test_another_grades_colour_is_refused_at_approval(api: Api, services: Services) -> None:
    wid = (await draft(api, grade="red", description="陈家港镇将出现红色预警标准的大风。"))["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    # Changed behind the workflow's back (as by a bug or a hand in the database).
    async with services.store.write() as tx:
        await tx.conn.execute(
            update(warning_versions)
            .where(warning_versions.c.warning_id == wid)
            .values(instruction={"en": "Prepare as for a yellow warning."})
        )
    refused = await api.post(f"/warnings/{wid}/approve", "duty_chief", {"chinese_only": True})
    assert (refused.status, refused.body["field"]) == (422, "instruction")
    shown = await ok(api.get(f"/warnings/{wid}", "duty_chief"))
    assert (shown["state"], shown["approvals"]) == ("submitted", [])
    assert await audited_refusals(services, "duty_chief", "approve") == 1


async def test_a_catalog_text_of_another_grade_follows_the_grade(api: Api) -> None:
    loaded = await draft(api, grade="blue")  # what a form loaded with blue shows
    red = await draft(
        api,
        grade="red",
        headline=loaded["headline"],
        description=loaded["description"],
        instruction=loaded["instruction"],
    )
    for name in ("headline", "description", "instruction"):
        assert red[name]["zh-CN"] != loaded[name]["zh-CN"], name
    assert "红色" in red["headline"]["zh-CN"] and "蓝色" not in red["headline"]["zh-CN"]


async def _approved_blue(api: Api) -> tuple[int, str]:
    wid = (await draft(api, grade="blue", areas=[CHENJIAGANG]))["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    seen = (await ok(api.post(f"/warnings/{wid}/preview", "duty_chief")))["digest"]
    approved = await ok(api.post(f"/warnings/{wid}/approve", "duty_chief", {"digest": seen}))
    assert approved["state"] == "approved"
    return wid, seen


async def test_an_issue_is_refused_once_the_messages_changed_since_approval(
    api: Api, services: Services
) -> None:
    wid, seen = await _approved_blue(api)
    async with services.store.write() as tx:  # the town renamed: every message changes
        await tx.conn.execute(
            update(areas).where(areas.c.code == CHENJIAGANG).values(name="陈家港新镇")
        )
    assert (await ok(api.post(f"/warnings/{wid}/preview", "duty_chief")))["digest"] != seen
    refused = await api.post(f"/warnings/{wid}/issue", "duty_chief")
    assert (refused.status, refused.body["error"]) == (409, "conflict")
    assert "changed since approval" in refused.body["message"]
    assert (await ok(api.get(f"/warnings/{wid}", "duty_chief")))["state"] == "approved"
    assert await audited_refusals(services, "duty_chief", "issue") == 1
    # Renamed back, the messages are the approved ones again and the issue goes out.
    async with services.store.write() as tx:
        await tx.conn.execute(
            update(areas).where(areas.c.code == CHENJIAGANG).values(name="陈家港镇")
        )
    issued = await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))
    assert issued["state"] == "issued"


async def test_an_approval_of_messages_no_longer_current_is_refused(api: Api) -> None:
    wid = (await draft(api, grade="blue", areas=[CHENJIAGANG]))["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    refused = await api.post(f"/warnings/{wid}/approve", "duty_chief", {"digest": "0" * 64})
    assert (refused.status, refused.body["error"]) == (409, "conflict")
    assert (await ok(api.get(f"/warnings/{wid}", "duty_chief")))["state"] == "submitted"
    bad = await api.post(f"/warnings/{wid}/approve", "duty_chief", {"digest": 7})
    assert (bad.status, bad.body["field"]) == (422, "digest")
