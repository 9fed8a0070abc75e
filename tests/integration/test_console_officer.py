"""The information officer's phone pages: warnings for my areas, acknowledging, calling
the residents nobody reached and reporting a relay, through the API's own code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.settings import Settings
from delivery.fanout import plan_all
from ewb.services import Services
from subscribers.officers import Officer
from subscribers.residents import Resident
from tests.integration.conftest import PASSWORD, Api, FakeClock
from tests.integration.console import sign_in
from tests.integration.engine import Engine, engine
from tests.integration.flows import issue_new, ok
from tests.integration.test_reminders import acknowledgements
from tests.integration.test_reminders import sign_in as give_token
from tests.support import NOW
from warning.grades import Grade
from web.passwords import hash_password

TOWN, A, B = "320921101", "320921101001", "320921101002"  # 陈家港镇: 海安, 大湾
C = "320921100001"  # 东园, in 响水镇: outside the officer's scope
OFFICER = "officer_cjg"  # serves 陈家港镇, gets warnings by SMS
PAGE = "/console/officer"


def person(n: int, area: str, phone: str | None) -> Resident:
    return Resident(
        external_id=f"P{n}",
        name=f"居民{n}",
        phone=phone,
        wechat_openid=None,
        locale="zh-CN",
        area_code=area,
        groups=(),
        channels=("sms", "wechat"),
        min_grade=Grade.BLUE,
        test_recipient=False,
    )


# The Twilio simulator refuses numbers ending 0000: those residents stay unreachable.
PEOPLE = [
    person(1, A, "+8613800030000"),  # refused: unreachable, can be called
    person(2, A, None),  # no channel at all: unreachable, must be visited
    person(3, A, "+8613800030001"),  # reached by SMS
    person(4, B, "+8613800040000"),  # refused: unreachable in 大湾
    person(5, C, "+8613800050000"),  # refused, but not the officer's to see
]


@dataclass
class Setup:
    e: Engine
    ids: dict[str, int]  # external id -> resident id
    households: int  # of 海安


async def add_people(services: Services) -> dict[str, int]:
    async with services.store.write() as tx:
        await tx.users.upsert_officer(
            Officer(OFFICER, "陈港信息员", "+8613912340011", None, frozenset({TOWN})), NOW
        )
        await tx.users.set_password(OFFICER, hash_password(PASSWORD))
        await tx.residents.upsert_many(PEOPLE, NOW)
        found, _ = await tx.residents.search(
            scope=["320921"], area=None, group=None, phone_suffix=None, limit=100, offset=0
        )
    await give_token(services, OFFICER)
    return {r.resident.external_id: r.id for r in found}


@pytest.fixture
async def issued(
    api: Api, settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[Setup, dict[str, Any]]]:
    """An orange typhoon warning issued for 陈家港镇 and 东园, sent through the simulators."""
    async with engine(settings, clock) as e:
        ids = await add_people(e.services)
        warning = await issue_new(api, grade="orange", areas=[TOWN, C])
        await e.runner.drain()
        async with e.services.store.read() as tx:
            households = next(f.households for f in await tx.areas.figures([A]))
        yield Setup(e, ids, households), warning


def tel_links(text: str) -> list[str]:
    return re.findall(r'href="tel:([^"]*)"', text)


async def unreachable_ids(api: Api, warning_id: int) -> set[str]:
    found = await ok(api.get(f"/warnings/{warning_id}/unreachable", OFFICER))
    return {r["external_id"] for r in found["residents"]}


async def test_the_list_shows_the_warnings_for_my_areas_most_severe_first(
    api: Api, issued: tuple[Setup, dict[str, Any]]
) -> None:
    setup, mine = issued
    county = await issue_new(api, grade="blue", areas=["320921"])  # holds my town: mine too
    other = await issue_new(api, grade="red", areas=["320921100"])  # 响水镇 only: not mine
    await setup.e.runner.drain()
    officer = await sign_in(api.client, OFFICER)

    listing = await officer.get(PAGE)
    assert listing.status == 200
    links = re.findall(r'href="/console/officer/warnings/(\d+)"', listing.text)
    shown = list(dict.fromkeys(int(x) for x in links))
    assert shown == [mine["id"], county["id"]]  # orange before blue; the red one elsewhere
    assert "橙色预警" in listing.text and "Orange" in listing.text  # the word, not only colour
    assert "蓝色预警" in listing.text and "红色预警" not in listing.text
    assert "陈家港镇、东园居委会" in listing.text  # the areas targeted
    assert listing.text.count("未确认") == 2  # sent to me, not yet acknowledged

    refused = await officer.get(f"{PAGE}/warnings/{other['id']}")
    assert refused.status == 403 and "does not concern your areas" in refused.text


async def test_a_list_without_warnings_says_so(api: Api) -> None:
    officer = await sign_in(api.client, "officer")
    listing = await officer.get(PAGE)
    assert listing.status == 200
    assert "No warnings in force for your areas" in listing.text
    assert "/console/officer/warnings/" not in listing.text


async def test_acknowledging_on_the_page_records_it_once_as_the_api_does(
    api: Api, services: Services, issued: tuple[Setup, dict[str, Any]], clock: FakeClock
) -> None:
    _, warning = issued
    wid = warning["id"]
    officer = await sign_in(api.client, OFFICER)
    before = await officer.get(f"{PAGE}/warnings/{wid}")
    assert before.status == 200 and "我已收到" in before.text
    assert await acknowledgements(services, wid) == []

    done = await officer.post(f"{PAGE}/warnings/{wid}/acknowledge", {})
    assert (done.status, done.location) == (303, f"{PAGE}/warnings/{wid}?done=ack")
    assert await acknowledgements(services, wid) == [(OFFICER, "app")]
    after = await officer.get(f"{PAGE}/warnings/{wid}?done=ack")
    assert '已确认 <span lang="en">Acknowledged at</span> 07-28 08:00' in after.text
    assert "我已收到" not in after.text and 'role="status"' in after.text
    listing = await officer.get(PAGE)
    assert "Acknowledged at" in listing.text and "未确认" not in listing.text
    # The API sees the same acknowledgement and records nothing more.
    again = await ok(api.post(f"/warnings/{wid}/acknowledge", OFFICER))
    assert again["acknowledged_at"] == "2026-07-28T08:00:00+08:00"
    assert await acknowledgements(services, wid) == [(OFFICER, "app")]

    # "officer" serves 陈家港镇 too, but has no phone: sent nothing, so no button, and a
    # forged POST is refused with the API's 404, nothing recorded.
    unsent = await sign_in(api.client, "officer")
    page = await unsent.get(f"{PAGE}/warnings/{wid}")
    assert "Not sent to you" in page.text and "我已收到" not in page.text
    forged = await unsent.post(f"{PAGE}/warnings/{wid}/acknowledge", {})
    assert forged.status == 404 and "was not sent to you" in forged.text
    assert await acknowledgements(services, wid) == [(OFFICER, "app")]


async def test_the_unreached_of_my_villages_can_be_called_and_reported_as_relayed(
    api: Api, services: Services, issued: tuple[Setup, dict[str, Any]]
) -> None:
    setup, warning = issued
    wid, ids = warning["id"], setup.ids
    officer = await sign_in(api.client, OFFICER)
    page = await officer.get(f"{PAGE}/warnings/{wid}")
    assert page.status == 200
    # The same residents as the API lists for this officer: not 东园's, not the reached.
    assert await unreachable_ids(api, wid) == {"P1", "P2", "P4"}
    assert tel_links(page.text) == ["+8613800030000", "+8613800040000"]
    assert "居民2" in page.text and "No phone: visit in person" in page.text
    assert "居民3" not in page.text and "居民5" not in page.text
    assert page.text.index("海安居委会") < page.text.index("居民1") < page.text.index("大湾居委会")
    options = re.findall(r'<option value="(\d+)"', page.text)
    assert A in options and B in options and C not in options
    assert all(o.startswith(TOWN) for o in options)

    async def relays() -> list[Any]:
        async with services.store.read() as tx:
            return await tx.reach.relays(wid, 1)

    path = f"{PAGE}/warnings/{wid}/relays"
    too_many = await officer.post(
        path,
        [
            ("area", A),
            ("households", str(setup.households + 1)),
            ("residents", str(ids["P1"])),
            ("note", "敲锣通知"),
        ],
    )
    assert too_many.status == 422
    assert f"has {setup.households} households" in too_many.text
    assert "敲锣通知</textarea>" in too_many.text
    assert f'value="{ids["P1"]}" checked' in too_many.text  # what was typed is kept
    outside = await officer.post(path, [("area", C), ("households", "1")])
    assert outside.status == 403 and "outside your scope" in outside.text
    assert await relays() == []

    done = await officer.post(
        path,
        [
            ("area", A),
            ("households", "5"),
            ("residents", str(ids["P1"])),
            ("residents", str(ids["P2"])),
            ("note", "上门通知"),
        ],
    )
    assert (done.status, done.location) == (303, f"{PAGE}/warnings/{wid}?done=relay")
    [relay] = await relays()
    assert (relay.area_code, relay.officer, relay.households, relay.residents, relay.note) == (
        A,
        OFFICER,
        5,
        2,
        "上门通知",
    )
    assert await unreachable_ids(api, wid) == {"P4"}
    after = await officer.get(f"{PAGE}/warnings/{wid}?done=relay")
    assert "Relay report recorded" in after.text
    assert tel_links(after.text) == ["+8613800040000"]
    assert "居民1" not in after.text and "居民2" not in after.text
    assert "上门通知" in after.text  # the report is listed

    audit = await ok(api.get(f"/audit?warning_id={wid}", "admin"))
    outcomes = [x["outcome"] for x in audit["entries"] if x["action"] == "relay.report"]
    assert outcomes == ["refused", "refused", "ok"]  # the same audited code as the API


async def test_other_roles_are_refused_every_officer_page_and_action(
    api: Api, services: Services
) -> None:
    await add_people(services)
    warning = await issue_new(api, grade="orange", areas=[TOWN])
    assert await plan_all(services)
    wid = warning["id"]
    forecaster = await sign_in(api.client, "forecaster")
    for path in (PAGE, f"{PAGE}/warnings/{wid}"):
        assert (await forecaster.get(path)).status == 403
    ack = await forecaster.post(f"{PAGE}/warnings/{wid}/acknowledge", {})
    relay = await forecaster.post(f"{PAGE}/warnings/{wid}/relays", {"area": A, "households": "1"})
    assert (ack.status, relay.status) == (403, 403)
    assert "info_officer" in relay.text
    assert await acknowledgements(services, wid) == []
    async with services.store.read() as tx:
        assert await tx.reach.relays(wid, 1) == []
    # The officer could have done both.
    officer = await sign_in(api.client, OFFICER)
    await officer.get(f"{PAGE}/warnings/{wid}")
    assert (await officer.post(f"{PAGE}/warnings/{wid}/acknowledge", {})).status == 303
