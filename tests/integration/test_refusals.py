"""Every refusal answers with its status and error, changes nothing, and is audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ewb.services import Services
from tests.integration.conftest import Api, table_snapshot
from tests.integration.flows import approve_all, draft, issue_new, ok
from tests.support import CHENJIAGANG, XIANGSHUI_TOWN, draft_body

Setup = Callable[[Api], Awaitable[int | None]]


async def nothing(api: Api) -> None:
    return None


async def drafted(api: Api) -> int:
    return int((await draft(api, grade="red"))["id"])


async def submitted_red(api: Api) -> int:
    wid = await drafted(api)
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    return wid


async def submitted_by_duty_chief(api: Api) -> int:
    wid = int((await draft(api, "duty_chief", grade="blue"))["id"])
    await ok(api.post(f"/warnings/{wid}/submit", "duty_chief"))
    return wid


async def reviewed_red(api: Api) -> int:
    wid = await submitted_red(api)
    await ok(api.post(f"/warnings/{wid}/approve", "duty_chief"))
    return wid


async def approved_yellow(api: Api) -> int:
    wid = int((await draft(api, grade="yellow"))["id"])
    await ok(api.post(f"/warnings/{wid}/submit", "forecaster"))
    await approve_all(api, wid, ["duty_chief"])
    return wid


async def issued_yellow(api: Api) -> int:
    return int((await issue_new(api, grade="yellow"))["id"])


async def pending_revision(api: Api) -> int:
    wid = await issued_yellow(api)
    await ok(api.post(f"/warnings/{wid}/revisions", "forecaster", {"action": "update"}), 201)
    return wid


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup
    method: str
    path: str  # "{id}" is replaced by the set-up warning's id
    user: str | None
    body: Any
    status: int
    error: str
    field: str | None = None
    rule: str | None = None


CASES = [
    # 401: no or bad credentials (not a command: nothing to audit)
    Case("no token", nothing, "POST", "/warnings", None, draft_body(), 401, "unauthorized"),
    # 422: bad content, naming the field
    Case(
        "lightning has no blue",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(hazard="thunderstorm", grade="blue"),
        422,
        "invalid",
        field="grade",
    ),
    Case(
        "unknown hazard",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(hazard="meteor"),
        422,
        "invalid",
        field="hazard",
    ),
    Case(
        "unknown area",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(areas=["999999"]),
        422,
        "invalid",
        field="areas",
    ),
    Case(
        "no areas",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(areas=[]),
        422,
        "invalid",
        field="areas",
    ),
    Case(
        "expires before onset",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(expires="2026-07-28T09:00:00+08:00", onset="2026-07-28T10:00:00+08:00"),
        422,
        "invalid",
        field="expires",
    ),
    Case(
        "expires after 7 days",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(expires="2026-08-05T10:00:00+08:00"),
        422,
        "invalid",
        field="expires",
    ),
    Case(
        "naive onset",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(onset="2026-07-28T10:00:00"),
        422,
        "invalid",
        field="onset",
    ),
    Case(
        "bad mode",
        nothing,
        "POST",
        "/warnings",
        "forecaster",
        draft_body(mode="drill"),
        422,
        "invalid",
        field="mode",
    ),
    Case(
        "reject without reason",
        submitted_red,
        "POST",
        "/warnings/{id}/reject",
        "duty_chief",
        {},
        422,
        "invalid",
        field="reason",
    ),
    Case(
        "update changes grade",
        issued_yellow,
        "POST",
        "/warnings/{id}/revisions",
        "forecaster",
        {"action": "update", "grade": "red"},
        422,
        "invalid",
        field="grade",
    ),
    Case(
        "escalate downwards",
        issued_yellow,
        "POST",
        "/warnings/{id}/revisions",
        "forecaster",
        {"action": "escalate", "grade": "blue"},
        422,
        "invalid",
        field="grade",
    ),
    Case(
        "unknown revision",
        issued_yellow,
        "POST",
        "/warnings/{id}/revisions",
        "forecaster",
        {"action": "repeat"},
        422,
        "invalid",
        field="action",
    ),
    # 403: not permitted, with the rule that refused
    Case(
        "approve own draft",
        submitted_by_duty_chief,
        "POST",
        "/warnings/{id}/approve",
        "duty_chief",
        None,
        403,
        "forbidden",
        rule="own_draft",
    ),
    Case(
        "forecaster approves",
        submitted_red,
        "POST",
        "/warnings/{id}/approve",
        "forecaster2",
        None,
        403,
        "forbidden",
        rule="role",
    ),
    Case(
        "leader before duty chief",
        submitted_red,
        "POST",
        "/warnings/{id}/approve",
        "leader",
        None,
        403,
        "forbidden",
        rule="approval_order",
    ),
    Case(
        "same approver twice",
        reviewed_red,
        "POST",
        "/warnings/{id}/approve",
        "duty_chief",
        None,
        403,
        "forbidden",
        rule="same_approver",
    ),
    Case(
        "water drafts typhoon",
        nothing,
        "POST",
        "/warnings",
        "water",
        draft_body(),
        403,
        "forbidden",
        rule="organisation",
    ),
    Case(
        "water chief approves typhoon",
        submitted_red,
        "POST",
        "/warnings/{id}/approve",
        "water_chief",
        None,
        403,
        "forbidden",
        rule="organisation",
    ),
    Case(
        "outside area scope",
        nothing,
        "POST",
        "/warnings",
        "forecaster_cjg",
        draft_body(areas=[CHENJIAGANG, XIANGSHUI_TOWN]),
        403,
        "forbidden",
        rule="area_scope",
    ),
    Case(
        "admin drafts",
        nothing,
        "POST",
        "/warnings",
        "admin",
        draft_body(),
        403,
        "forbidden",
        rule="role",
    ),
    Case(
        "info officer approves",
        submitted_red,
        "POST",
        "/warnings/{id}/approve",
        "officer",
        None,
        403,
        "forbidden",
        rule="role",
    ),
    Case(
        "info officer issues",
        approved_yellow,
        "POST",
        "/warnings/{id}/issue",
        "officer",
        None,
        403,
        "forbidden",
        rule="role",
    ),
    # 409: not allowed in the current state
    Case(
        "issue before approval",
        submitted_red,
        "POST",
        "/warnings/{id}/issue",
        "duty_chief",
        None,
        409,
        "conflict",
    ),
    Case(
        "approve a draft",
        drafted,
        "POST",
        "/warnings/{id}/approve",
        "duty_chief",
        None,
        409,
        "conflict",
    ),
    Case(
        "edit after submit",
        submitted_red,
        "PATCH",
        "/warnings/{id}",
        "forecaster",
        {"headline": "changed"},
        409,
        "conflict",
    ),
    Case(
        "edit issued",
        issued_yellow,
        "PATCH",
        "/warnings/{id}",
        "forecaster",
        {"headline": "changed"},
        409,
        "conflict",
    ),
    Case(
        "revise a draft",
        drafted,
        "POST",
        "/warnings/{id}/revisions",
        "forecaster",
        {"action": "update"},
        409,
        "conflict",
    ),
    Case(
        "second pending revision",
        pending_revision,
        "POST",
        "/warnings/{id}/revisions",
        "forecaster",
        {"action": "update"},
        409,
        "conflict",
    ),
    Case(
        "act on an old version",
        pending_revision,
        "POST",
        "/warnings/{id}/submit?version=1",
        "forecaster",
        None,
        409,
        "conflict",
    ),
    Case(
        "submit twice",
        submitted_red,
        "POST",
        "/warnings/{id}/submit",
        "forecaster",
        None,
        409,
        "conflict",
    ),
    # 404
    Case(
        "unknown warning",
        nothing,
        "POST",
        "/warnings/424242/submit",
        "forecaster",
        None,
        404,
        "not_found",
    ),
    # A village's officer does not read the county's audit log.
    Case(
        "officer reads the audit log",
        issued_yellow,
        "GET",
        "/audit?limit=1000",
        "officer",
        None,
        403,
        "forbidden",
        rule="role",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refusal_changes_nothing(api: Api, services: Services, case: Case) -> None:
    warning_id = await case.setup(api)
    before = await table_snapshot(services)
    audit_before = await ok(api.get("/audit?limit=1000"))
    path = case.path.replace("{id}", str(warning_id))

    reply = await api.call(case.method, path, case.user, json=case.body)

    assert reply.status == case.status, reply.body
    assert reply.body["error"] == case.error
    assert reply.body["message"]
    assert reply.body.get("field") == case.field
    assert reply.body.get("rule") == case.rule
    assert await table_snapshot(services) == before
    audit_after = await ok(api.get("/audit?limit=1000"))
    new_entries = audit_after["entries"][len(audit_before["entries"]) :]
    if case.user is None:
        assert new_entries == []
    else:
        assert [(e["actor"], e["outcome"]) for e in new_entries] == [(case.user, "refused")]
        assert new_entries[0]["details"]["error"] == case.error


async def test_bad_json_is_a_400_that_names_the_problem(api: Api) -> None:
    async with api.client.post(
        "/api/v1/warnings",
        data=b"{not json",
        headers={
            "Authorization": "Bearer test-token-forecaster",
            "Content-Type": "application/json",
        },
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "bad_request"


async def test_unknown_token_is_refused(api: Api) -> None:
    async with api.client.get(
        "/api/v1/warnings", headers={"Authorization": "Bearer nope"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_login_gives_a_token_that_works_and_refuses_a_wrong_password(api: Api) -> None:
    good = await api.call(
        "POST", "/auth/token", json={"username": "leader", "password": "ewb-test-password"}
    )
    assert good.status == 200 and good.body["user"]["role"] == "leader"
    async with api.client.get(
        "/api/v1/warnings", headers={"Authorization": f"Bearer {good.body['token']}"}
    ) as response:
        assert response.status == 200
    bad = await api.call("POST", "/auth/token", json={"username": "leader", "password": "x"})
    assert (bad.status, bad.body["error"]) == (401, "unauthorized")
    missing = await api.call("POST", "/auth/token", json={"username": "leader"})
    assert (missing.status, missing.body["field"]) == (422, "password")
    audit = await ok(api.get("/audit"))
    assert [(e["actor"], e["action"], e["outcome"]) for e in audit["entries"]] == [
        ("leader", "login", "ok"),
        ("leader", "login", "refused"),
    ]


async def test_unknown_routes_and_methods_answer_in_json(api: Api) -> None:
    missing = await api.get("/nothing-here")
    assert (missing.status, missing.body["error"]) == (404, "not_found")
    wrong = await api.call("DELETE", "/warnings", "forecaster")
    assert (wrong.status, wrong.body["error"]) == (405, "method_not_allowed")
