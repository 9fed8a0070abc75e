"""A provider storm: for 20 s the SMS provider answers 500 and 429 to a share of requests
and WeChat answers HTTP 500 and 45009, among residents with invalid and undeliverable
numbers and unsubscribed or invalid WeChat ids. Counted from the simulators' own records:
every resident with a valid channel got exactly one message, on some channel, and nobody
else got one.

Validity is the providers' rule, not ewb's: a phone the Twilio simulator would accept and
deliver (`sim.twilio.delivers`), a WeChat id it would accept (`WechatSim.accepts`)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from config.settings import Settings
from ewb.services import Services
from sim import twilio
from sim.wechat import SIM, WechatSim
from subscribers.residents import Resident
from tests.integration.cluster import UNLIMITED, cluster, real_time_body
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import callbacks_applied, engine
from tests.integration.flows import issue_new
from tests.integration.lanes import VILLAGES, store_residents
from tests.integration.test_fanout import COUNTY
from tests.support import NOW
from warning.grades import Grade

RESIDENTS = 5_000
STORM_SECONDS = 20
SETTLE_SECONDS = 240  # the fan-out's bound once the storm is over
FAST_RETRIES: dict[str, Any] = {
    "retry_base_seconds": 0.5,
    "retry_max_seconds": 2,
    "retry_max_age_seconds": 900,
}


class TickingClock(FakeClock):
    """The real clock's pace from the tests' NOW: retries fall due while the test runs."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._started)


@pytest.fixture
def clock() -> FakeClock:
    return TickingClock(NOW)


def population() -> list[Resident]:
    """Six in ten prefer SMS, three WeChat, one has SMS only. Phones ending 13 end
    undelivered and 14 failed at the provider; a share of phones and WeChat ids are invalid
    there (`sim_invalid_share`); some WeChat ids are unsubscribed (see `unsubscribed`)."""
    people = []
    for n in range(RESIDENTS):
        ending = "13" if n % 17 == 0 else "14" if n % 29 == 0 else "77"
        kind = n % 10
        people.append(
            Resident(
                external_id=f"S{n:06d}",
                name=f"居民{n}",
                phone=f"+86137{n:06d}{ending}",
                wechat_openid=f"oStorm{n:06d}x" if kind != 9 else None,
                locale="zh-CN",
                area_code=VILLAGES[n % len(VILLAGES)],
                groups=(),
                channels=("wechat", "sms") if kind in (6, 7, 8) else ("sms", "wechat"),
                min_grade=Grade.BLUE,
                test_recipient=False,
            )
        )
    return people


def unsubscribed(people: list[Resident]) -> set[str]:
    return {p.wechat_openid for n, p in enumerate(people) if p.wechat_openid and n % 31 == 0}


def storm(sims: dict[str, web.Application], on: bool) -> None:
    faults, wechat = sims["twilio"][twilio.FAULTS], sims["wechat"][SIM]
    faults.rate_500, faults.rate_429 = (0.15, 0.15) if on else (0.0, 0.0)
    wechat.rate_500, wechat.rate_limited_share = (0.1, 0.2) if on else (0.0, 0.0)


def received_per_resident(
    sims: dict[str, web.Application], people: list[Resident], settings: Settings
) -> Counter[str]:
    """Messages each resident got, from the simulators' records: an SMS the provider
    accepted for a phone it delivers to, a WeChat message it accepted."""
    by_phone = {p.phone: p.external_id for p in people}
    by_openid = {p.wechat_openid: p.external_id for p in people if p.wechat_openid}
    got: Counter[str] = Counter()
    for m in sims["twilio"][twilio.SENT]:
        if m.answer == 201 and m.to in by_phone and twilio.delivers(m.to, settings):
            got[by_phone[m.to]] += 1
    for r in sims["wechat"][SIM].received:
        if r.api == "wechat" and r.to in by_openid:
            got[by_openid[r.to]] += 1
    return got


def reachable(people: list[Resident], sim: WechatSim, settings: Settings) -> set[str]:
    """Residents with a channel the provider would take and deliver."""
    return {
        p.external_id
        for p in people
        if (p.phone and twilio.delivers(p.phone, settings))
        or (p.wechat_openid and sim.accepts(p.wechat_openid))
    }


async def until_settled(
    progress: Callable[[], Any], sims: dict[str, web.Application], services: Services
) -> None:
    """Until the fan-out is done, every status callback is in and applied, and still done
    after that (a late `undelivered` queues a fallback)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if (await progress())["done"]:
            await twilio.settled(sims["twilio"])
            await callbacks_applied(services)
            await asyncio.sleep(1.0)
            if (await progress())["done"]:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not done {SETTLE_SECONDS} s after the storm: {await progress()}")


def assert_each_reached_once(
    sims: dict[str, web.Application], people: list[Resident], settings: Settings
) -> None:
    valid = reachable(people, sims["wechat"][SIM], settings)
    got = received_per_resident(sims, people, settings)
    unreached = sorted(valid - set(got))
    repeated = sorted(r for r, n in got.items() if n > 1)
    stray = sorted(set(got) - valid)
    print(f"storm: {len(valid)} with a valid channel, {len(got)} reached")
    assert len(valid) > RESIDENTS * 0.9  # the storm's shares as meant
    assert not unreached, f"{len(unreached)} never reached: {unreached[:20]}"
    assert not repeated, f"{len(repeated)} got more than one: {repeated[:20]}"
    assert not stray, stray[:20]
    faults = Counter(m.answer for m in sims["twilio"][twilio.SENT])
    assert faults[500] and faults[429], faults  # the storm happened
    assert {code for _, code in sims["wechat"][SIM].answers} >= {45009, 43004, 40003}


async def test_a_provider_storm_leaves_no_resident_unreached_embedded(
    api: Api, settings: Settings, clock: FakeClock
) -> None:
    people = population()
    async with engine(settings, clock, sim_invalid_share=0.04, **FAST_RETRIES) as e:
        e.sims["wechat"][SIM].unsubscribed |= unsubscribed(people)
        await store_residents(e.services, people)
        running = asyncio.create_task(e.runner.run())
        try:
            storm(e.sims, on=True)
            issued = await issue_new(api, grade="red", areas=COUNTY)
            e.runner.wake()
            await asyncio.sleep(STORM_SECONDS)
            storm(e.sims, on=False)

            async def progress() -> Any:
                reply = await api.get(f"/warnings/{issued['id']}/progress")
                assert reply.status == 200, reply.body
                return reply.body

            await until_settled(progress, e.sims, e.services)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        assert_each_reached_once(e.sims, people, e.settings)


async def test_a_provider_storm_leaves_no_resident_unreached_on_one_worker(
    settings: Settings,
) -> None:
    people = population()
    async with cluster(
        settings, sim_invalid_share=0.04, rate_limits=UNLIMITED, **FAST_RETRIES
    ) as c:
        c.sims["wechat"][SIM].unsubscribed |= unsubscribed(people)
        await store_residents(c.services, people)
        await c.start("worker", "w1")
        await c.start("scheduler", "s1")
        storm(c.sims, on=True)
        issued = await issue_new(c.api, grade="red", areas=COUNTY, **real_time_body())
        await asyncio.sleep(STORM_SECONDS)
        storm(c.sims, on=False)
        await until_settled(lambda: c.progress(int(issued["id"])), c.sims, c.services)
        assert_each_reached_once(c.sims, people, c.settings)
        for name, process in c.processes.items():
            assert process.returncode is None, c.log(name)[-3000:]
