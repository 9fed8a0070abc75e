"""Officers acknowledge warnings; the unacknowledged are reminded, then the duty chief is
told. Driven by a controllable clock, against the simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from config.settings import Settings, load_settings
from delivery.fanout import priority
from delivery.scheduler import remind_officers
from ewb.bootstrap import build_services
from ewb.services import Services
from sim import twilio, wechat
from store import tables
from store.deliveries import Delivery
from tests.integration.conftest import Api, FakeClock, token_of
from tests.integration.engine import Engine, deliveries_of, engine
from tests.integration.flows import draft, issue_new, ok, release
from tests.integration.test_fanout import add_relays
from tests.integration.test_timers import Woken
from tests.support import NOW
from web.passwords import token_hash

OFFICER_A_WECOM = "wx_officer_a"  # officer_a (陈平) gets warnings on WeCom
OFFICER_B_PHONE = "+8613912340002"  # officer_b (周红) by SMS
CHIEF_PHONE = "+8613912349999"
REMINDER = "【请确认收到】"


@pytest.fixture
async def chief_phone(services: Services) -> AsyncIterator[str]:
    """The test user duty_chief with a phone (the session's users outlive the test: the
    phone is taken away again afterwards)."""
    await _set_phone(services, "duty_chief", CHIEF_PHONE)
    yield CHIEF_PHONE
    await _set_phone(services, "duty_chief", None)


async def _set_phone(services: Services, username: str, phone: str | None) -> None:
    async with services.store.write() as tx:
        await tx.conn.execute(
            update(tables.users).where(tables.users.c.username == username).values(phone=phone)
        )


async def sign_in(services: Services, *usernames: str) -> None:
    """Give officers created by `add_relays` an API token (`Api` uses `token_of`)."""
    forever = datetime(2100, 1, 1, tzinfo=NOW.tzinfo)
    async with services.store.write() as tx:
        for username in usernames:
            user = await tx.users.by_username(username)
            assert user is not None
            await tx.users.add_token(user.id, token_hash(token_of(username)), NOW, forever)


def of(found: list[Delivery], kind: str, who: str) -> list[Delivery]:
    return [d for d in found if d.recipient_kind == kind and d.recipient_id == who]


async def acknowledgements(services: Services, warning_id: int) -> list[tuple[str, str | None]]:
    """(recipient, detail) of every `acknowledged` event of the warning's deliveries."""
    async with services.store.read() as tx:
        rows = await tx.conn.execute(
            select(tables.deliveries.c.recipient_id, tables.delivery_events.c.detail)
            .join(tables.deliveries, tables.deliveries.c.id == tables.delivery_events.c.delivery_id)
            .where(
                tables.deliveries.c.warning_id == warning_id,
                tables.delivery_events.c.event == "acknowledged",
            )
            .order_by(tables.delivery_events.c.id)
        )
        return [(r.recipient_id, r.detail) for r in rows]


def sms_to(e: Engine, number: str) -> list[str]:
    return [m.body for m in e.sims["twilio"][twilio.SENT] if m.to == number and m.answer == 201]


def wecom_to(e: Engine, user: str) -> list[str]:
    received = e.sims["wechat"][wechat.SIM].received
    return [str(m.payload["text"]["content"]) for m in received if m.to == user]


async def sms_reply(e: Engine, sender: str, text: str) -> None:
    """Someone answers by SMS: the Twilio simulator posts the signed inbound webhook."""
    url = f"http://{e.settings.sim_host}:{e.settings.sim_twilio_port}/sim/inbound"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data={"From": sender, "Body": text}) as answer,
    ):
        assert answer.status == 200
        assert (await answer.json())["answer"] == 200  # ewb took the webhook


async def test_an_officer_acknowledges_the_issued_version_once(
    api: Api, settings: Settings, clock: FakeClock
) -> None:
    async with engine(settings, clock) as e:
        await add_relays(e.services)
        await sign_in(e.services, "officer_a", "officer_b")
        issued = await issue_new(api, grade="red")
        wid = issued["id"]
        await e.runner.drain()

        clock.now = NOW + timedelta(minutes=3)
        first = await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_a"))
        assert first == {
            "warning_id": wid,
            "version": 1,
            "acknowledged_at": "2026-07-28T08:03:00+08:00",
        }
        assert await acknowledgements(e.services, wid) == [("officer_a", "app")]

        clock.now = NOW + timedelta(minutes=5)  # again: nothing new, the same answer
        assert await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_a")) == first
        assert await acknowledgements(e.services, wid) == [("officer_a", "app")]

        refused = await api.post(f"/warnings/{wid}/acknowledge", "duty_chief")
        assert refused.status == 403
        assert (refused.body["error"], refused.body["rule"]) == ("forbidden", "role")
        # "officer" serves 陈家港镇 too but has neither WeCom nor a phone: sent nothing.
        unsent = await api.post(f"/warnings/{wid}/acknowledge", "officer")
        assert (unsent.status, unsent.body["error"]) == (404, "not_found")
        missing = await api.post(f"/warnings/{wid + 1000}/acknowledge", "officer_a")
        assert (missing.status, missing.body["error"]) == (404, "not_found")
        drafted = await draft(api)
        early = await api.post(f"/warnings/{drafted['id']}/acknowledge", "officer_a")
        assert (early.status, early.body["error"]) == (409, "conflict")
        assert await acknowledgements(e.services, wid) == [("officer_a", "app")]

        # The all-clear (version 2) goes to the officers too: acknowledging now is of it.
        await ok(api.post(f"/warnings/{wid}/revisions", "forecaster", {"action": "cancel"}), 201)
        await release(api, wid, ["duty_chief"])
        await e.runner.drain()
        clock.now = NOW + timedelta(minutes=40)
        second = await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_a"))
        assert (second["version"], second["acknowledged_at"]) == (2, "2026-07-28T08:40:00+08:00")
        [lifted] = of(await e.deliveries(wid, 2), "officer", "officer_a")
        async with e.services.store.read() as tx:
            assert [x.event for x in await tx.deliveries.events(lifted.id)][-1] == "acknowledged"
        assert len(await acknowledgements(e.services, wid)) == 2


async def test_the_unacknowledged_are_reminded_once_then_the_duty_chief_is_told(
    api: Api, settings: Settings, clock: FakeClock, chief_phone: str
) -> None:
    async with engine(settings, clock, officer_ack_minutes=15) as e:
        await add_relays(e.services)
        await sign_in(e.services, "officer_a")
        issued = await issue_new(api, grade="red")
        wid = issued["id"]
        await e.runner.drain()
        assert len(sms_to(e, OFFICER_B_PHONE)) == 1 and len(wecom_to(e, OFFICER_A_WECOM)) == 1
        clock.now = NOW + timedelta(minutes=2)
        await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_a"))
        woken = Woken()

        clock.now = NOW + timedelta(minutes=14, seconds=59)
        assert await remind_officers(e.services, woken) == 0
        clock.now = NOW + timedelta(minutes=15)
        assert await remind_officers(e.services, woken) == 1  # officer_b only
        assert woken.times == 1
        assert await remind_officers(e.services, woken) == 0  # once
        await e.runner.drain()

        [first, reminder] = sms_to(e, OFFICER_B_PHONE)
        assert REMINDER not in first and "回复1" in first
        assert reminder.startswith(REMINDER) and reminder.endswith(first)
        assert len(wecom_to(e, OFFICER_A_WECOM)) == 1  # acknowledged: left in peace
        found = await e.deliveries(wid)
        [again] = [d for d in of(found, "officer", "officer_b") if d.repeat == 1]
        assert (again.channel, again.address, again.state) == ("sms", OFFICER_B_PHONE, "sent")
        assert again.priority == of(found, "officer", "officer_b")[0].priority
        assert of(found, "chief", "duty_chief") == []

        clock.now = NOW + timedelta(minutes=29, seconds=59)
        assert await remind_officers(e.services, woken) == 0  # the reminder is 14:59 old
        clock.now = NOW + timedelta(minutes=30)
        assert await remind_officers(e.services, woken) == 1  # the one chief with a phone
        await e.runner.drain()
        [told] = sms_to(e, chief_phone)
        assert "周红" in told and "响水镇东园居委会" in told  # the officer and her area
        assert "陈平" not in told  # who acknowledged is not named
        assert "台风红色预警信号" in told  # the warning
        [chief] = of(await e.deliveries(wid), "chief", "duty_chief")
        assert (chief.channel, chief.address, chief.repeat) == ("sms", chief_phone, 0)
        async with e.services.store.read() as tx:
            queued = [x for x in await tx.deliveries.events(chief.id) if x.event == "queued"]
        assert [x.detail for x in queued] == ['["officer_b"]']

        clock.now = NOW + timedelta(hours=2)  # told once; reminded once
        assert await remind_officers(e.services, woken) == 0
        await e.runner.drain()
        assert len(sms_to(e, OFFICER_B_PHONE)) == 2 and len(sms_to(e, chief_phone)) == 1


async def test_an_sms_reply_acknowledges_and_a_late_acknowledgement_spares_the_chief(
    api: Api, settings: Settings, clock: FakeClock, chief_phone: str
) -> None:
    async with engine(settings, clock, officer_ack_minutes=15) as e:
        await add_relays(e.services)
        await sign_in(e.services, "officer_a", "officer_b")
        wid = (await issue_new(api, grade="red"))["id"]
        await e.runner.drain()

        clock.now = NOW + timedelta(minutes=4)
        await sms_reply(e, OFFICER_B_PHONE, "1")
        assert [r for r, _ in await acknowledgements(e.services, wid)] == ["officer_b"]
        # The app knows: acknowledging there too adds nothing and shows the SMS's time.
        clock.now = NOW + timedelta(minutes=5)
        shown = await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_b"))
        assert shown["acknowledged_at"] == "2026-07-28T08:04:00+08:00"
        assert len(await acknowledgements(e.services, wid)) == 1

        clock.now = NOW + timedelta(minutes=15)
        woken = Woken()
        assert await remind_officers(e.services, woken) == 1  # officer_a only, on WeCom
        await e.runner.drain()
        assert len(sms_to(e, OFFICER_B_PHONE)) == 1
        [first, reminder] = wecom_to(e, OFFICER_A_WECOM)
        assert REMINDER not in first and REMINDER in reminder

        clock.now = NOW + timedelta(minutes=20)  # reminded, officer_a acknowledges now
        await ok(api.post(f"/warnings/{wid}/acknowledge", "officer_a"))
        clock.now = NOW + timedelta(hours=1)
        assert await remind_officers(e.services, woken) == 0
        await e.runner.drain()
        assert sms_to(e, chief_phone) == []
        assert of(await e.deliveries(wid), "chief", "duty_chief") == []


async def test_a_test_warning_reminds_nobody_an_exercise_does(
    api: Api, settings: Settings, clock: FakeClock, chief_phone: str
) -> None:
    async with engine(settings, clock, officer_ack_minutes=15) as e:
        await add_relays(e.services)
        tested = await issue_new(api, grade="blue", hazard="rainstorm", mode="test")
        drilled = await issue_new(api, grade="blue", hazard="rainstorm", mode="exercise")
        await e.runner.drain()
        assert of(await e.deliveries(tested["id"]), "officer", "officer_b") == []
        # Even an officer delivery of a test version (none is planned) is not reminded.
        async with e.services.store.write() as tx:
            version = (await tx.warnings.get(tested["id"])).warning.latest
            await tx.fanout.add_rows([_sent(tested["id"], "officer_b", version)])

        clock.now = NOW + timedelta(minutes=15)
        assert await remind_officers(e.services, Woken()) == 2  # the exercise's two
        clock.now = NOW + timedelta(minutes=30)
        assert await remind_officers(e.services, Woken()) == 1  # its chief
        await e.runner.drain()
        untouched = of(await e.deliveries(tested["id"]), "officer", "officer_b")
        assert [d.repeat for d in untouched] == [0]
        [told] = sms_to(e, chief_phone)
        assert told.startswith("【信息员未确认】【演练】")  # the exercise is labelled
        assert [d.recipient_id for d in await e.deliveries(drilled["id"]) if d.repeat] == [
            "officer_a",
            "officer_b",
        ]

        # The all-clear ends it: nothing more for a cancelled warning.
        await ok(
            api.post(f"/warnings/{drilled['id']}/revisions", "forecaster", {"action": "cancel"}),
            201,
        )
        await release(api, drilled["id"], ["duty_chief"])
        await e.runner.drain()
        clock.now = NOW + timedelta(hours=3)
        assert await remind_officers(e.services, Woken()) == 0


async def test_no_reminders_when_turned_off(
    api: Api, settings: Settings, clock: FakeClock, database_url: str
) -> None:
    async with engine(settings, clock) as e:
        await add_relays(e.services)
        wid = (await issue_new(api, grade="red"))["id"]
        await e.runner.drain()
    off = build_services(
        load_settings(database_url=database_url, var_dir=settings.var_dir, officer_ack_minutes=0),
        clock,
    )
    try:
        clock.now = NOW + timedelta(hours=1)
        assert await remind_officers(off, Woken()) == 0
        officers = [d for d in await deliveries_of(off, wid) if d.recipient_kind == "officer"]
        assert [d.repeat for d in officers] == [0, 0]
    finally:
        await off.store.close()


def _sent(warning_id: int, officer: str, version: Any) -> dict[str, Any]:
    return {
        "warning_id": warning_id,
        "version": version.number,
        "recipient_kind": "officer",
        "recipient_id": officer,
        "channel": "sms",
        "address": OFFICER_B_PHONE,
        "state": "sent",
        "attempts": 1,
        "priority": priority(version, True),
        "created_at": NOW,
        "updated_at": NOW,
    }
