"""The whole release workflow over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from config.data import cap_validator
from ewb.services import Services
from store import tables
from tests.integration.conftest import Api
from tests.integration.flows import approve_all, draft, issue_new, ok, release
from tests.support import CHENJIAGANG, XIANGSHUI_TOWN

validate_cap = cap_validator()


async def outbox_rows(services: Services) -> list[tuple[int, int, str]]:
    async with services.store.read() as tx:
        return await tx.outbox.pending()


async def audit_actions(api: Api, warning_id: int) -> list[tuple[str, str, str]]:
    body = await ok(api.get(f"/audit?warning_id={warning_id}"))
    return [(e["actor"], e["action"], e["outcome"]) for e in body["entries"]]


async def test_blue_warning_goes_from_draft_to_issued(api: Api, services: Services) -> None:
    created = await draft(api, hazard="rainstorm", grade="blue", areas=[XIANGSHUI_TOWN])
    wid = created["id"]
    assert (created["version"], created["state"], created["kind"]) == (1, "draft", "alert")
    assert created["headline"]["zh-CN"] == "响水县气象台发布暴雨蓝色预警信号"
    assert created["approvals_required"] == ["duty_chief"]

    submitted = await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    assert submitted["state"] == "submitted"
    assert submitted["pending_approval"] == {"step": 1, "role": "duty_chief"}

    approved = await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    assert approved["state"] == "approved"
    assert [(a["by"], a["role"]) for a in approved["approvals"]] == [("duty_chief", "duty_chief")]
    assert await outbox_rows(services) == []  # nothing announced before issue

    issued = await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))
    assert issued["state"] == "issued"
    assert issued["issued_by"] == "duty_chief"
    assert issued["cap_identifier"].startswith("32092141600000_20260728080000_")
    assert issued["issued_at"] == "2026-07-28T08:00:00+08:00"
    assert await outbox_rows(services) == [(wid, 1, "issued")]

    shown = await ok(api.get(f"/warnings/{wid}", "officer"))
    assert shown["state"] == "issued" and shown["versions"][0]["state"] == "issued"
    assert await audit_actions(api, wid) == [
        ("forecaster", "draft", "ok"),
        ("forecaster", "submit", "ok"),
        ("duty_chief", "approve", "ok"),
        ("duty_chief", "issue", "ok"),
    ]
    cap = await api.get(f"/warnings/{wid}/cap")
    assert cap.status == 200
    validate_cap(cap.body)


async def test_red_warning_needs_review_then_leader_sign_off(api: Api) -> None:
    wid = (await draft(api, grade="red"))["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))

    reviewed = await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    assert reviewed["state"] == "submitted"
    assert reviewed["pending_approval"] == {"step": 2, "role": "leader"}

    signed = await ok(api.post(f"/warnings/{wid}/approve", "leader"))
    assert signed["state"] == "approved"
    assert [a["role"] for a in signed["approvals"]] == ["duty_chief", "leader"]

    issued = await ok(api.post(f"/warnings/{wid}/issue", "leader"))
    assert issued["state"] == "issued"
    assert issued["headline"] == {
        "zh-CN": "响水县气象台发布台风红色预警信号",
        "en": "Xiangshui County Meteorological Observatory issues a Red typhoon warning",
    }


async def test_escalation_from_yellow_to_orange_supersedes_the_yellow(api: Api) -> None:
    yellow = await issue_new(api, grade="yellow")
    wid = yellow["id"]

    revision = await ok(
        api.post(
            f"/warnings/{wid}/revisions", "forecaster", {"action": "escalate", "grade": "orange"}
        ),
        201,
    )
    assert (revision["id"], revision["version"], revision["kind"]) == (wid, 2, "escalate")
    assert revision["state"] == "draft"
    assert revision["approvals_required"] == ["duty_chief", "leader"]
    still = await ok(api.get(f"/warnings/{wid}?version=1"))
    assert still["state"] == "issued"  # in force until the escalation is issued

    orange = await release(api, wid, ["duty_chief", "leader"])

    assert orange["grade"] == "orange" and orange["state"] == "issued"
    assert orange["headline"]["zh-CN"] == "响水县气象台将台风预警信号升级为橙色"
    assert orange["references"] == (
        f"xiangshui.weather@ewb,{yellow['cap_identifier']},{yellow['issued_at']}"
    )
    assert [v["state"] for v in orange["versions"]] == ["superseded", "issued"]
    old = await ok(api.get(f"/warnings/{wid}?version=1"))
    assert old["state"] == "superseded"

    cap = await api.get(f"/warnings/{wid}/cap")
    validate_cap(cap.body)
    assert b"<msgType>Update</msgType>" in cap.body
    assert f"<references>{orange['references']}</references>".encode() in cap.body
    first = await api.get(f"/warnings/{wid}/cap?version=1")
    assert b"<msgType>Alert</msgType>" in first.body


async def test_cancel_needs_a_duty_chief_and_ends_the_warning(api: Api) -> None:
    orange = await issue_new(api, grade="orange")
    wid = orange["id"]
    await ok(api.post(f"/warnings/{wid}/revisions", "forecaster", {"action": "cancel"}), 201)
    submitted = await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    assert submitted["approvals_required"] == ["duty_chief"]

    refused = await api.post(f"/warnings/{wid}/approve", "leader")
    assert (refused.status, refused.body["rule"]) == (403, "role")

    await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    cancel = await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))
    assert cancel["kind"] == "cancel" and cancel["state"] == "issued"
    assert cancel["headline"]["zh-CN"] == "响水县气象台解除台风橙色预警信号"
    assert [v["state"] for v in cancel["versions"]] == ["cancelled", "issued"]

    cap = await api.get(f"/warnings/{wid}/cap")
    validate_cap(cap.body)
    assert b"<msgType>Cancel</msgType>" in cap.body and b"<references>" in cap.body

    again = await api.post(f"/warnings/{wid}/revisions", "forecaster", {"action": "update"})
    assert again.status == 409


async def test_update_changes_areas_and_text_but_keeps_the_grade(api: Api) -> None:
    wid = (await issue_new(api, grade="blue", hazard="rainstorm"))["id"]
    update = await ok(
        api.post(
            f"/warnings/{wid}/revisions",
            "forecaster",
            {
                "action": "update",
                "areas": [CHENJIAGANG],
                "description": "雨区东移，陈家港镇仍有强降雨。",
            },
        ),
        201,
    )
    assert update["areas"] == [CHENJIAGANG]
    assert update["description"]["zh-CN"] == "雨区东移，陈家港镇仍有强降雨。"
    # Not the catalog's English, which says something else: the Chinese, marked.
    assert update["description"]["en"] == "[Translation pending] 雨区东移，陈家港镇仍有强降雨。"
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    refused = await api.post(f"/warnings/{wid}/approve", "duty_chief")
    assert (refused.status, refused.body["field"]) == (422, "chinese_only")
    await ok(api.post(f"/warnings/{wid}/approve", "duty_chief", {"chinese_only": True}))
    issued = await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))
    assert issued["kind"] == "update" and issued["headline"]["zh-CN"].startswith("响水县气象台更新")


async def test_rejected_draft_returns_to_draft_and_needs_fresh_approvals(api: Api) -> None:
    wid = (await draft(api, grade="red"))["id"]
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    rejected = await ok(
        api.post(f"/warnings/{wid}/reject", "leader", {"reason": "路径预报有误，请核实登陆点"})
    )
    assert rejected["state"] == "rejected"
    assert rejected["rejection"]["by"] == "leader"
    assert rejected["rejection"]["reason"] == "路径预报有误，请核实登陆点"

    redrafted = await ok(api.post(f"/warnings/{wid}/redraft", "forecaster"))
    assert redrafted["state"] == "draft" and redrafted["approvals"] == []
    edited = await ok(
        api.patch(f"/warnings/{wid}", "forecaster2", {"headline": "台风“梅花”红色预警"})
    )
    assert edited["headline"]["zh-CN"] == "台风“梅花”红色预警"
    assert edited["editors"] == ["forecaster2"]

    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    approved = await approve_all(api, wid, ["duty_chief", "leader"])
    assert [a["by"] for a in approved["approvals"]] == ["duty_chief", "leader"]


async def test_list_filters_on_the_latest_version(api: Api) -> None:
    issued = await issue_new(api, grade="blue", hazard="rainstorm")
    drafted = await draft(api, grade="red")
    everything = await ok(api.get("/warnings"))
    assert everything["total"] == 2
    assert [w["id"] for w in everything["warnings"]] == [drafted["id"], issued["id"]]
    only_issued = await ok(api.get("/warnings?state=issued"))
    assert [w["id"] for w in only_issued["warnings"]] == [issued["id"]]
    red_typhoons = await ok(api.get("/warnings?hazard=typhoon&grade=red"))
    assert [w["id"] for w in red_typhoons["warnings"]] == [drafted["id"]]
    bad = await api.get("/warnings?state=finished")
    assert (bad.status, bad.body["field"]) == (422, "state")


async def test_issue_writes_state_and_outbox_in_one_transaction(
    api: Api, services: Services
) -> None:
    issued = await issue_new(api, grade="yellow")
    async with services.store.read() as tx:
        rows = (
            await tx.conn.execute(
                select(
                    tables.warning_versions.c.state,
                    tables.outbox.c.event,
                ).join(
                    tables.outbox,
                    tables.outbox.c.warning_id == tables.warning_versions.c.warning_id,
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("issued", "issued")]
    assert issued["state"] == "issued"
