"""The sign-in throttle over HTTP: per username and client address, with a growing wait,
lifted by a success, an admin's unlock (command line or users page) or a new password."""

from __future__ import annotations

import re
from datetime import timedelta

from config.settings import Settings
from ewb.services import Services
from tests.integration import throttle
from tests.integration.cli import ewb
from tests.integration.conftest import PASSWORD, Api, FakeClock, Reply
from tests.integration.console import Page, Session, sign_in
from tests.support import COUNTY, NOW
from warning.actors import Actor, Role
from warning.audit import AuditEntry
from web.passwords import hash_password

no_throttle, elsewhere = throttle.no_throttle, throttle.elsewhere  # fixtures
HERE, OTHER = throttle.HERE, throttle.OTHER
WAIT = re.compile(r"try again in (\d+) seconds?")


async def token(api: Api, username: str, password: str = PASSWORD) -> Reply:
    return await api.call("POST", "/auth/token", json={"username": username, "password": password})


async def console_sign_in(api: Api, username: str, password: str = PASSWORD) -> Page:
    """One try of the console's sign-in form."""
    anonymous = Session(api.client)
    nonce = (await anonymous.request("GET", "/console/login")).csrf()
    return await anonymous.request(
        "POST",
        "/console/login",
        data={"username": username, "password": password, "csrf": nonce},
        headers={"Cookie": f"ewb_login_csrf={nonce}"},
    )


async def fail(api: Api, username: str, times: int = 5) -> list[int]:
    return [(await token(api, username, "wrong")).status for _ in range(times)]


async def audit(services: Services, action: str) -> list[AuditEntry]:
    async with services.store.read() as tx:
        return [e for e in await tx.audit.entries() if e.action == action]


def row_of(page: Page, username: str) -> str:
    found = re.search(rf"<tr>\s*<td>{re.escape(username)}</td>.*?</tr>", page.text, re.S)
    assert found, f"no row of {username}"
    return found.group(0)


async def test_eleven_wrong_passwords_from_one_address_leave_the_user_free_elsewhere(
    api: Api, elsewhere: Api, services: Services
) -> None:
    assert await fail(api, "duty_chief", 11) == [401] * 5 + [429] * 6
    refused = await token(api, "duty_chief")  # the right password is not even looked at
    assert (refused.status, refused.body["error"]) == (429, "too_many_attempts")
    assert "from this address; try again in 2 seconds" in refused.body["message"]
    page = await console_sign_in(api, "duty_chief")
    assert page.status == 429 and "尝试次数过多" in page.text

    # another office: the API and the console both let the duty chief in
    assert (await token(elsewhere, "duty_chief")).status == 200
    chief = await sign_in(elsewhere.client, "duty_chief")
    assert (await chief.request("GET", "/console")).location == "/console/approvals"
    # and signing in there did not lift the wait here
    assert (await token(api, "duty_chief")).status == 429

    async with services.store.read() as tx:
        here = await tx.throttle.get("duty_chief", HERE)
        assert await tx.throttle.get("duty_chief", OTHER) is None
    assert here is not None and here.failures == 5
    assert here.blocked_until == NOW + timedelta(seconds=2)
    logins = [(e.outcome, e.details.get("rule")) for e in await audit(services, "login")]
    throttled = ("refused", "login_throttled")
    assert logins == [("refused", "login")] * 5 + [throttled] * 8 + [("ok", None)] * 2 + [throttled]


async def test_the_wait_doubles_with_each_further_failure_up_to_the_window(
    api: Api, clock: FakeClock
) -> None:
    assert await fail(api, "forecaster") == [401] * 5
    waits = []
    for _ in range(11):
        refused = await token(api, "forecaster")
        assert refused.status == 429
        found = WAIT.search(refused.body["message"])
        assert found, refused.body
        waits.append(int(found.group(1)))
        clock.now += timedelta(seconds=waits[-1] - 1)
        assert (await token(api, "forecaster")).status == 429  # a second early
        clock.now += timedelta(seconds=1)
        assert await fail(api, "forecaster", 1) == [401]  # counted: the wait doubles
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]  # 15 minutes at most

    # a whole window after the last wait ended, the failures are forgotten
    clock.now += timedelta(minutes=15 + 15)
    assert await fail(api, "forecaster", 1) == [401]  # the first failure of a new count
    assert (await token(api, "forecaster")).status == 200


async def test_a_success_clears_the_failures_of_its_address(
    api: Api, elsewhere: Api, services: Services
) -> None:
    assert await fail(api, "leader", 4) == [401] * 4
    assert await fail(elsewhere, "leader", 4) == [401] * 4
    assert (await token(api, "leader")).status == 200
    async with services.store.read() as tx:
        assert await tx.throttle.get("leader", HERE) is None
        still = await tx.throttle.get("leader", OTHER)
    assert still is not None and still.failures == 4
    assert await fail(api, "leader", 4) == [401] * 4  # counted from zero again
    assert await fail(elsewhere, "leader", 1) == [401]  # the 5th there: now it waits
    assert (await token(elsewhere, "leader")).status == 429


async def test_the_admin_sees_and_lifts_a_throttle_on_the_users_page(
    api: Api, elsewhere: Api, services: Services
) -> None:
    await fail(api, "forecaster")
    await fail(elsewhere, "forecaster")
    admin = await sign_in(api.client, "admin")
    listing = await admin.get("/console/admin/users")
    assert "受限 throttled: 2 个地址 addresses" in row_of(listing, "forecaster")
    assert "无 none" in row_of(listing, "leader")
    assert 'action="/console/admin/users/unlock"' in row_of(listing, "leader")

    forged = await admin.post(
        "/console/admin/users/unlock", {"username": "forecaster", "csrf": "forged"}
    )
    assert forged.status == 403
    assert (await token(api, "forecaster")).status == 429

    unlocked = await admin.post("/console/admin/users/unlock", {"username": "forecaster"})
    assert unlocked.status == 303
    assert unlocked.location == "/console/admin/users?unlocked=forecaster&addresses=2"
    after = await admin.get(unlocked.location)
    assert "已解锁 Unlocked: <strong>forecaster</strong> — 2 个地址 addresses" in after.text
    assert "无 none" in row_of(after, "forecaster")
    forecaster = await sign_in(api.client, "forecaster")
    assert (await forecaster.request("GET", "/console")).location == "/console/warnings"
    assert (await token(elsewhere, "forecaster")).status == 200

    unknown = await admin.post("/console/admin/users/unlock", {"username": "nobody"})
    assert unknown.status == 404 and "no user" in unknown.text
    entries = [(e.actor, e.outcome, dict(e.details)) for e in await audit(services, "user_unlock")]
    assert entries == [
        ("admin", "ok", {"username": "forecaster", "addresses": 2}),
        ("admin", "refused", {"error": "not_found", "message": "no user 'nobody'"}),
    ]


async def test_ewb_user_unlock_lifts_the_throttle_of_every_address(
    api: Api, elsewhere: Api, settings: Settings, services: Services
) -> None:
    await fail(api, "duty_chief2")
    await fail(elsewhere, "duty_chief2")
    assert (await token(api, "duty_chief2")).status == 429
    result = ewb(settings, "user", "unlock", "duty_chief2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "user duty_chief2 unlocked: 2 addresses"
    assert (await token(api, "duty_chief2")).status == 200
    assert (await token(elsewhere, "duty_chief2")).status == 200
    [entry] = await audit(services, "user_unlock")
    assert (entry.actor, entry.outcome) == ("cli", "ok")
    assert dict(entry.details) == {"username": "duty_chief2", "addresses": 2}

    again = ewb(settings, "user", "unlock", "duty_chief2")
    assert again.stdout.strip() == "user duty_chief2 unlocked: 0 addresses"
    unknown = ewb(settings, "user", "unlock", "nobody")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "ewb: no user 'nobody'"
    outcomes = [(e.actor, e.outcome) for e in await audit(services, "user_unlock")]
    assert outcomes == [("cli", "ok"), ("cli", "ok"), ("cli", "refused")]  # refusal audited


async def test_a_new_password_lifts_the_throttle(
    api: Api, settings: Settings, services: Services
) -> None:
    async with services.store.write() as tx:  # not a session user: its password changes
        actor = Actor(
            username="li.chief", role=Role.DUTY_CHIEF, org="weather", areas=frozenset({COUNTY})
        )
        await tx.users.add(actor, hash_password(PASSWORD), NOW)
    await fail(api, "li.chief")
    assert (await token(api, "li.chief")).status == 429
    reset = ewb(
        settings, "user", "password", "li.chief", "--password-stdin", stdin="new-season-2026\n"
    )
    assert reset.returncode == 0, reset.stderr
    assert (await token(api, "li.chief", "new-season-2026")).status == 200
