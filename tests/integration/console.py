"""The console as a signed-in user sees it over HTTP: sessions with their own cookie."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from tests.integration.conftest import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class Page:
    status: int
    text: str
    location: str | None

    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)


class Session:
    """One user's browser session: the session cookie, sent explicitly on every request."""

    def __init__(self, client: TestClient, cookie: str = "") -> None:
        self.client, self.cookie = client, cookie
        self.csrf = ""

    async def request(
        self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> Page:
        all_headers = {"Cookie": self.cookie} if self.cookie else {}
        all_headers.update(headers or {})
        async with self.client.request(
            method, path, data=data, headers=all_headers, allow_redirects=False
        ) as response:
            text = await response.text()
            page = Page(response.status, text, response.headers.get("Location"))
        self.client.session.cookie_jar.clear()  # each Session keeps its own cookie
        return page

    async def get(self, path: str) -> Page:
        page = await self.request("GET", path)
        if page.status == 200 and CSRF.search(page.text):
            self.csrf = page.csrf()
        return page

    async def post(self, path: str, fields: dict[str, Any] | list[tuple[str, Any]]) -> Page:
        """Submit a form as the page would: with this session's CSRF token."""
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if not any(k == "csrf" for k, _ in items):
            items.append(("csrf", self.csrf))
        return await self.request("POST", path, data=items)


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Session:
    """Sign in through the form; the session then holds the cookie and the CSRF token."""
    session = Session(client, await _session_cookie(client, username, password))
    await session.get("/console/login")  # any page: the token comes with the sign-out form
    return session


async def _session_cookie(client: TestClient, username: str, password: str) -> str:
    form = await Session(client).request("GET", "/console/login")
    nonce = form.csrf()
    async with client.request(
        "POST",
        "/console/login",
        data={"username": username, "password": password, "csrf": nonce, "next": ""},
        headers={"Cookie": f"ewb_login_csrf={nonce}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
        morsel = response.cookies["ewb_session"]
    client.session.cookie_jar.clear()
    return f"ewb_session={morsel.value}"
