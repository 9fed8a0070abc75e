"""The preview of every channel, and approvals refused while a message breaks a limit."""

from __future__ import annotations

from ewb.services import Services
from tests.integration.conftest import Api, table_snapshot
from tests.integration.flows import draft, ok


async def test_preview_renders_every_channel_locale_and_group(api: Api) -> None:
    created = await draft(api, grade="red", groups=["fisherman"])
    body = await ok(api.post(f"/warnings/{created['id']}/preview", "duty_chief"))
    keys = {(m["channel"], m["locale"], tuple(m["groups"])) for m in body["messages"]}
    assert keys == {
        (c, loc, g)
        for c in ("sms", "wechat", "broadcast", "officer")
        for loc in ("zh-CN", "en")
        for g in ((), ("fisherman",))
    }
    sms = next(
        m
        for m in body["messages"]
        if (m["channel"], m["locale"], m["groups"]) == ("sms", "zh-CN", ["fisherman"])
    )
    assert sms["text"].startswith("【响水县气象台】台风红色预警信号")
    assert "立即回港避风" in sms["text"] and 1 <= sms["segments"] <= 4
    assert sms["violations"] == [] and body["blocking"] == []
    wechat = next(m for m in body["messages"] if m["channel"] == "wechat")
    assert wechat["segments"] is None
    english_broadcast = next(
        m for m in body["messages"] if (m["channel"], m["locale"]) == ("broadcast", "en")
    )
    assert english_broadcast["sent"] is False


async def test_a_draft_whose_message_is_too_long_cannot_be_approved(
    api: Api, services: Services
) -> None:
    towns = [f"3209211{n:02d}" for n in range(8)] + ["320921400", "320921401", "320921402"]
    created = await draft(api, grade="blue", hazard="rainstorm", headline="暴雨" * 100, areas=towns)
    wid = created["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    preview = await ok(api.post(f"/warnings/{wid}/preview", "duty_chief"))
    assert any("segments" in problem for problem in preview["blocking"])

    before = await table_snapshot(services)
    refused = await api.post(f"/warnings/{wid}/approve", "duty_chief")
    assert refused.status == 409
    assert "officer (zh-CN): the SMS needs 5 segments" in refused.body["message"]
    assert await table_snapshot(services) == before

    await ok(api.post(f"/warnings/{wid}/reject", "duty_chief", {"reason": "短信太长"}))
    await ok(api.post(f"/warnings/{wid}/redraft", "forecaster"))
    await ok(api.patch(f"/warnings/{wid}", "forecaster", {"headline": None}))
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    approved = await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    assert approved["state"] == "approved"
