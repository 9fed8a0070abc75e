"""Residents over HTTP: masking, scope, CRUD, and the multipart import."""

from __future__ import annotations

import io
from typing import Any

import aiohttp

from ewb.services import Services
from subscribers.residents import CSV_COLUMNS
from tests.integration.conftest import Api, token_of
from tests.integration.flows import ok
from tests.support import CHENJIAGANG, XIANGSHUI_TOWN

CJG_VILLAGE = "320921101001"  # in 陈家港镇, the test officer's scope
TOWN_VILLAGE = "320921100001"  # in 响水镇

HEADER = ",".join(CSV_COLUMNS) + "\n"


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "external_id": "A1",
        "name": "李娜",
        "phone": "13812345678",
        "wechat_openid": "oAbcdefgh123456",
        "locale": "zh-CN",
        "area_code": CJG_VILLAGE,
        "groups": ["fisherman"],
        "channels": ["wechat", "sms"],
        "min_grade": "yellow",
        "test_recipient": False,
    }
    values.update(overrides)
    return values


async def upload(api: Api, user: str, csv_text: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field(
        "file",
        io.BytesIO(csv_text.encode("utf-8")),
        filename="residents.csv",
        content_type="text/csv",
    )
    async with api.client.post(
        "/api/v1/residents/import", data=form, headers={"Authorization": f"Bearer {token_of(user)}"}
    ) as reply:
        return reply.status, await reply.json()


async def test_officer_creates_lists_changes_and_deletes_in_their_town(api: Api) -> None:
    created = await ok(api.post("/residents", "officer", body()), 201)
    assert created["phone"] == "+86138****5678"
    assert created["wechat_openid"] == "oAbc****3456"
    assert created["channels"] == ["wechat", "sms"]

    listing = await ok(api.get(f"/residents?area={CHENJIAGANG}", "officer"))
    assert listing["total"] == 1
    assert listing["residents"][0]["phone"] == "+86138****5678"
    by_suffix = await ok(api.get("/residents?phone_suffix=5678", "officer"))
    assert [r["external_id"] for r in by_suffix["residents"]] == ["A1"]
    assert (await ok(api.get("/residents?phone_suffix=0000", "officer")))["total"] == 0
    by_group = await ok(api.get("/residents?group=fisherman", "officer"))
    assert by_group["total"] == 1

    changed = await ok(
        api.patch(
            f"/residents/{created['id']}",
            "officer",
            {"min_grade": "orange", "hazard_grades": {"typhoon": "blue"}, "groups": []},
        )
    )
    assert (changed["min_grade"], changed["hazard_grades"], changed["groups"]) == (
        "orange",
        {"typhoon": "blue"},
        [],
    )

    gone = await api.call("DELETE", f"/residents/{created['id']}", "officer")
    assert gone.status == 204
    assert (await api.get(f"/residents/{created['id']}", "officer")).status == 404


async def test_only_an_admin_sees_whole_numbers_and_only_on_one_resident(api: Api) -> None:
    created = await ok(api.post("/residents", "admin", body()), 201)
    single = await ok(api.get(f"/residents/{created['id']}", "admin"))
    assert (single["phone"], single["wechat_openid"]) == ("+8613812345678", "oAbcdefgh123456")
    listing = await ok(api.get("/residents", "admin"))
    assert listing["residents"][0]["phone"] == "+86138****5678"
    for user in ("officer", "duty_chief"):
        seen = await ok(api.get(f"/residents/{created['id']}", user))
        assert seen["phone"] == "+86138****5678"


async def test_an_officer_cannot_reach_another_towns_residents(api: Api) -> None:
    other = await ok(
        api.post("/residents", "admin", body(external_id="B1", area_code=TOWN_VILLAGE)), 201
    )
    listing = await api.get(f"/residents?area={XIANGSHUI_TOWN}", "officer")
    assert (listing.status, listing.body["rule"]) == (403, "area_scope")
    mine = await ok(api.get("/residents", "officer"))
    assert mine["total"] == 0  # the other town's resident is not in the officer's list
    for method, path, payload in (
        ("GET", f"/residents/{other['id']}", None),
        ("PATCH", f"/residents/{other['id']}", {"name": "改名"}),
        ("DELETE", f"/residents/{other['id']}", None),
    ):
        reply = await api.call(method, path, "officer", json=payload)
        assert (reply.status, reply.body["rule"]) == (403, "area_scope"), (method, reply.body)
    moved = await api.post("/residents", "officer", body(external_id="C1", area_code=TOWN_VILLAGE))
    assert (moved.status, moved.body["rule"]) == (403, "area_scope")


async def test_roles_without_access_are_refused(api: Api) -> None:
    for user, method, path in (
        ("forecaster", "GET", "/residents"),
        ("duty_chief", "POST", "/residents"),
        ("officer", "POST", "/residents/import"),
    ):
        reply = await api.call(method, path, user, json=body() if method == "POST" else None)
        assert (reply.status, reply.body["rule"]) == (403, "role"), (user, reply.body)


async def test_bad_resident_bodies_name_the_field(api: Api) -> None:
    for overrides, field in (
        ({"phone": "12345"}, "phone"),
        ({"area_code": "999"}, "area_code"),
        ({"groups": ["pirates"]}, "groups"),
        ({"groups": "fisherman"}, "groups"),
        ({"test_recipient": "yes"}, "test_recipient"),
        ({"colour": "red"}, "colour"),
        ({"hazard_grades": {"meteor": "red"}}, "hazard_grades"),
    ):
        reply = await api.post("/residents", "admin", body(**overrides))
        assert (reply.status, reply.body["field"]) == (422, field), reply.body
    await ok(api.post("/residents", "admin", body()), 201)
    again = await api.post("/residents", "admin", body())
    assert (again.status, again.body["field"]) == (422, "external_id")


async def test_import_reports_every_bad_row_and_stores_the_good(
    api: Api, services: Services
) -> None:
    rows = [
        f"G1,张伟,13800000001,,zh-CN,{CJG_VILLAGE},fisherman,sms,blue,0",
        f"G2,王芳,+8613800000002,oWx0000002abc,en,{TOWN_VILLAGE},,wechat;sms,,1",
        f"B1,坏号码,12345,,zh-CN,{CJG_VILLAGE},,,,0",
        "B2,无地区,13800000004,,zh-CN,999999,,,,0",
        f"B3,坏人群,13800000005,,zh-CN,{CJG_VILLAGE},pirates,,,0",
        f"G1,重复,13800000006,,zh-CN,{CJG_VILLAGE},,,,0",
        f"B4,字段少,13800000007,,zh-CN,{CJG_VILLAGE}",
        f'G3,"赵,敏",13800000008,,zh-CN,{CJG_VILLAGE},"elderly;school",,orange,0',
    ]
    status, report = await upload(api, "admin", HEADER + "\n".join(rows) + "\n")
    assert status == 200, report
    assert (report["rows"], report["inserted"], report["refused"]) == (8, 3, 5)
    assert [(e["line"], e["external_id"], e["field"]) for e in report["errors"]] == [
        (4, "B1", "phone"),
        (5, "B2", "area_code"),
        (6, "B3", "groups"),
        (7, "G1", "external_id"),
        (8, "B4", "row"),
    ]
    assert "first on line 2" in report["errors"][3]["reason"]
    listing = await ok(api.get("/residents?limit=10", "admin"))
    assert sorted(r["external_id"] for r in listing["residents"]) == ["G1", "G2", "G3"]
    g3 = next(r for r in listing["residents"] if r["external_id"] == "G3")
    assert (g3["name"], g3["groups"], g3["min_grade"]) == ("赵,敏", ["elderly", "school"], "orange")

    status, again = await upload(api, "admin", HEADER + "\n".join(rows) + "\n")
    assert (again["inserted"], again["updated"], again["unchanged"], again["refused"]) == (
        0,
        0,
        3,
        5,
    )
    changed = rows[0].replace("张伟", "张伟强")
    status, third = await upload(api, "admin", HEADER + changed + "\n")
    assert (third["inserted"], third["updated"]) == (0, 1)


async def test_import_refuses_a_file_without_the_columns(api: Api) -> None:
    status, report = await upload(api, "admin", "id,name\n1,x\n")
    assert (status, report["field"]) == (422, "file")
    assert "external_id" in report["message"]
