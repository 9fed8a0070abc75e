"""Console sign-in: the session cookie, CSRF on every form, the throttle, role pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.integration import throttle
from tests.integration.conftest import Api
from tests.integration.console import Session, sign_in

no_throttle, elsewhere = throttle.no_throttle, throttle.elsewhere  # fixtures


async def test_sign_in_sets_a_strict_http_only_cookie_and_sends_each_role_home(api: Api) -> None:
    client = api.client
    form = await Session(client).request("GET", "/console/login")
    nonce = form.csrf()
    async with client.request(
        "POST",
        "/console/login",
        data={"username": "duty_chief", "password": "ewb-test-password", "csrf": nonce},
        headers={"Cookie": f"ewb_login_csrf={nonce}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        header = next(
            v for v in response.headers.getall("Set-Cookie") if v.startswith("ewb_session=")
        )
    client.session.cookie_jar.clear()
    assert "HttpOnly" in header
    assert "SameSite=Strict" in header
    chief = await sign_in(client, "duty_chief")
    home = await chief.request("GET", "/console")
    assert (home.status, home.location) == (303, "/console/approvals")
    officer = await sign_in(client, "officer")
    assert (await officer.request("GET", "/console")).location == "/console/officer"


async def test_a_page_without_a_session_sends_to_sign_in_and_back(api: Api) -> None:
    page = await Session(api.client).request("GET", "/console/approvals")
    assert page.status == 303
    assert page.location is not None
    target = urlsplit(page.location)
    assert target.path == "/console/login"
    assert parse_qs(target.query) == {"next": ["/console/approvals"]}


async def test_sign_in_needs_the_forms_own_token(api: Api) -> None:
    reply = await Session(api.client).request(
        "POST",
        "/console/login",
        data={"username": "forecaster", "password": "ewb-test-password", "csrf": "made-up"},
    )
    assert reply.status == 403
    assert "csrf" in reply.text


async def test_a_form_without_the_csrf_token_is_refused(api: Api) -> None:
    leader = await sign_in(api.client, "leader")
    reply = await leader.post("/console/logout", {"csrf": "forged"})
    assert reply.status == 403
    assert "csrf" in reply.text
    # and the session still works: nothing happened
    assert (await leader.request("GET", "/console")).status == 303
    out = await leader.post("/console/logout", {})
    assert (out.status, out.location) == (303, "/console/login")
    assert (await leader.request("GET", "/console")).location.startswith("/console/login")


async def test_wrong_passwords_are_throttled_per_username_and_address(
    api: Api, elsewhere: Api
) -> None:
    anonymous = Session(api.client)
    statuses = []
    for _ in range(6):
        form = await anonymous.request("GET", "/console/login")
        nonce = form.csrf()
        reply = await anonymous.request(
            "POST",
            "/console/login",
            data={"username": "forecaster", "password": "wrong", "csrf": nonce},
            headers={"Cookie": f"ewb_login_csrf={nonce}"},
        )
        statuses.append(reply.status)
    assert statuses == [401] * 5 + [429]
    assert "尝试次数过多" in reply.text and "try again in 2 seconds" in reply.text
    # the right password is refused too while this address waits, also over the API
    token = await api.call(
        "POST", "/auth/token", json={"username": "forecaster", "password": "ewb-test-password"}
    )
    assert token.status == 429
    assert token.body["error"] == "too_many_attempts"
    # the same user from another address is not affected, nor another user
    assert (
        await elsewhere.call(
            "POST", "/auth/token", json={"username": "forecaster", "password": "ewb-test-password"}
        )
    ).status == 200
    assert (
        await api.call(
            "POST", "/auth/token", json={"username": "leader", "password": "ewb-test-password"}
        )
    ).status == 200


async def test_the_api_accepts_the_session_cookie_but_changes_need_the_csrf_header(
    api: Api,
) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    listed = await forecaster.request("GET", "/api/v1/warnings")
    assert listed.status == 200
    refused = await forecaster.request("POST", "/api/v1/warnings", data=b"{}")
    assert refused.status == 403
    assert '"csrf"' in refused.text
