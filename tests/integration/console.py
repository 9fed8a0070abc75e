"""The console as a signed-in user sees it over HTTP: sessions with their own cookie."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
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


class _FormReader(HTMLParser):
    """The fields a browser without script would post from the form with id `form_id`."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind != "submit":
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None


def form_fields(page: Page, form_id: str = "draft") -> list[tuple[str, str]]:
    """The form as it stands on the page, as a browser without script would post it."""
    reader = _FormReader(form_id)
    reader.feed(page.text)
    return reader.fields
