"""No input, however malformed, gets a 500: each is a 4xx, from the API with the JSON
error body. Every route the app registers is tried, as each kind of user and anonymously."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import Api, token_of

SURROGATE = b'{"title": "\\ud800", "username": "\\udfff", "a": ["\\ud800"]}'
DEEP = b"[" * 2000 + b"]" * 2000
DEEP_OBJECT = b'{"a": ' * 2000 + b"1" + b"}" * 2000
USERS = ("admin", "forecaster", "duty_chief", "officer", None)
HUGE = "99999999999999999999"


def _routes(api: Api, methods: set[str]) -> list[tuple[str, str]]:
    """(method, path) of every registered route, path parameters filled with 1."""
    found = set()
    for route in api.client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method in methods and path:
            found.add((route.method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(found)


async def _raw(
    api: Api, method: str, path: str, user: str | None, data: bytes, content_type: str
) -> tuple[int, str, str]:
    headers = {"Content-Type": content_type}
    if user:
        headers["Authorization"] = f"Bearer {token_of(user)}"
    async with api.client.request(method, path, headers=headers, data=data) as reply:
        return reply.status, reply.content_type, await reply.text()


def _refused_well(path: str, status: int, content_type: str, text: str) -> bool:
    """Not a server error; an API refusal carries the JSON error body."""
    if path.startswith("/readyz") and status == 503:  # not ready (no runner here): its answer
        return "not_ready" in text
    if status >= 500:
        return False
    if status >= 400 and path.startswith("/api/"):
        return content_type == "application/json" and "error" in json.loads(text)
    return True


@pytest.mark.parametrize(
    "body", [SURROGATE, DEEP, DEEP_OBJECT], ids=["surrogate", "deep", "deep_object"]
)
async def test_malformed_json_on_every_post_and_patch_is_a_4xx(api: Api, body: bytes) -> None:
    failures: list[Any] = []
    for method, path in _routes(api, {"POST", "PATCH", "PUT"}):
        for user in USERS:
            answer = await _raw(api, method, path, user, body, "application/json")
            if not _refused_well(path, *answer):
                failures.append((method, path, user, answer[0], answer[2][:200]))
    assert not failures, failures


async def test_numbers_beyond_the_database_and_odd_digits_are_a_4xx(api: Api) -> None:
    paths = [f"/api/v1/audit?after={HUGE}", f"/api/v1/audit?limit={HUGE}", "/ack/²", "/ack/%00"]
    for _, path in _routes(api, {"GET"}):
        if "/1" in path:
            paths += [path.replace("/1", f"/{HUGE}", 1), path.replace("/1", "/²", 1)]
        paths.append(f"{path}?version={HUGE}&offset={HUGE}&warning_id=²&addresses=²")
    failures: list[Any] = []
    for path in paths:
        for user in ("admin", "forecaster", None):
            answer = await _raw(api, "GET", path, user, b"", "text/plain")
            if not _refused_well(path, *answer):
                failures.append((path, user, answer[0], answer[2][:200]))
    assert not failures, failures


MALFORMED_FORMS = [
    (b"%zz=%%&=&&a=%E0%A4%A", "application/x-www-form-urlencoded"),
    (b"a=" + b"\xff\xfe" * 10, "application/x-www-form-urlencoded; charset=utf-8"),
    (b"--x\r\nContent-Disposition: form-data\r\n\r\nno end", "multipart/form-data; boundary=x"),
    (b"anything", "multipart/form-data"),  # no boundary
    (b"a=b", "application/x-www-form-urlencoded; charset=no-such-charset"),
]


@pytest.mark.parametrize("path", ["/webhooks/twilio/status", "/console/login"])
async def test_malformed_form_posts_are_a_4xx(api: Api, path: str) -> None:
    for data, content_type in MALFORMED_FORMS:
        status, _, text = await _raw(api, "POST", path, None, data, content_type)
        assert 400 <= status < 500, (data, content_type, status, text[:200])


@pytest.mark.parametrize("username", ["u" * 65, "ad\x00min", "\ud800"], ids=["long", "nul", "lone"])
async def test_odd_usernames_are_refused_not_crashed_on(api: Api, username: str) -> None:
    body = json.dumps({"username": username, "password": "x" * 12}).encode()
    status, _, text = await _raw(api, "POST", "/api/v1/auth/token", None, body, "application/json")
    assert 400 <= status < 500 and "error" in json.loads(text), (status, text[:200])


async def test_a_csv_field_over_the_parser_limit_is_refused(api: Api) -> None:
    csv_text = (
        "external_id,name,phone,wechat_openid,locale,area_code,groups,channels,min_grade\n"
        f"R1,{'x' * 200 * 1024},+8613812345678,,zh-CN,320921101001,,sms,blue\n"
    )
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(csv_text.encode()), filename="r.csv", content_type="text/csv")
    headers = {"Authorization": f"Bearer {token_of('admin')}"}
    async with api.client.post("/api/v1/residents/import", data=form, headers=headers) as reply:
        status, text = reply.status, await reply.text()
    assert status < 500, text[:300]
    if status >= 400:
        assert "error" in json.loads(text)
    else:
        assert json.loads(text)["inserted"] == 0  # refused as a row, never stored
