"""Every response carries its request id and forbids framing; an unexpected error is a JSON
500 naming the request id that its log line carries, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from tests.integration.conftest import Api, token_of
from web.errors import error_middleware
from web.headers import HEADER, stamp


def _no_framing(headers: Any) -> None:
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert len(headers[HEADER]) >= 8


@pytest.mark.parametrize(
    ("path", "user"),
    [
        ("/api/v1/warnings", "forecaster"),  # JSON
        ("/api/v1/warnings", None),  # 401
        ("/api/v1/no-such-route", None),  # 404
        ("/console", None),  # a redirect to sign in
        ("/console/login", None),  # a page
        ("/ack/1-forged", None),  # the ack page, 404
        ("/public", None),
        ("/static/ewb.css", None),
    ],
)
async def test_every_response_has_a_request_id_and_cannot_be_framed(
    api: Api, path: str, user: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token_of(user)}"} if user else {}
    async with api.client.get(path, headers=headers, allow_redirects=False) as reply:
        _no_framing(reply.headers)


async def test_a_plausible_request_id_is_kept_and_any_other_replaced(api: Api) -> None:
    async with api.client.get("/public", headers={HEADER: "edge-7f3a9c21"}) as reply:
        assert reply.headers[HEADER] == "edge-7f3a9c21"
    async with api.client.get("/public", headers={HEADER: "bad id!"}) as reply:
        assert reply.headers[HEADER] not in ("", "bad id!")


async def test_the_ack_page_runs_no_script(api: Api) -> None:
    async with api.client.get("/ack/1-forged") as reply:
        policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


async def test_an_unexpected_error_is_a_json_500_with_the_request_id_logged(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug with a secret 13812345678 in it")

    app = web.Application(middlewares=[error_middleware])
    app.on_response_prepare.append(stamp)
    app.router.add_get("/api/v1/broken", broken)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR, logger="ewb.web"):
        async with client.get("/api/v1/broken") as reply:
            body = await reply.json()
            rid = reply.headers[HEADER]
    assert reply.status == 500 and body["error"] == "internal"
    assert body["request_id"] == rid and rid in body["message"]
    assert "Traceback" not in str(body) and "secret" not in str(body)
    assert any(rid in record.getMessage() for record in caplog.records)
