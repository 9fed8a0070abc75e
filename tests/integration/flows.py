"""Workflow steps over HTTP, shared by the integration tests."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api
from tests.support import draft_body

APPROVERS = {
    "blue": ["duty_chief"],
    "yellow": ["duty_chief"],
    "orange": ["duty_chief", "leader"],
    "red": ["duty_chief", "leader"],
}


async def ok(reply_coro: Any, status: int = 200) -> dict[str, Any]:
    reply = await reply_coro
    assert reply.status == status, reply.body
    body: dict[str, Any] = reply.body
    return body


async def draft(api: Api, user: str = "forecaster", **overrides: object) -> dict[str, Any]:
    return await ok(api.post("/warnings", user, draft_body(**overrides)), 201)


async def approve_all(api: Api, warning_id: int, approvers: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for user in approvers:
        body = await ok(api.post(f"/warnings/{warning_id}/approve", user))
    assert body["state"] == "approved", body
    return body


async def release(api: Api, warning_id: int, approvers: list[str]) -> dict[str, Any]:
    """Submit the latest version, approve it as given, issue it."""
    await ok(api.post(f"/warnings/{warning_id}/submit", "forecaster"))
    await approve_all(api, warning_id, approvers)
    return await ok(api.post(f"/warnings/{warning_id}/issue", "duty_chief"))


async def issue_new(api: Api, **overrides: object) -> dict[str, Any]:
    """Draft, submit, approve (as the policy asks) and issue a warning."""
    created = await draft(api, **overrides)
    return await release(api, created["id"], APPROVERS[created["grade"]])
