"""The embedded fan-out engine against the simulators, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import aiohttp
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from config.providers import SANDBOX_TWILIO_TOKEN
from delivery import lanes
from delivery.fanout import RESIDENTS_EVENT, plan_all, plan_next
from delivery.ratelimit import RateLimiter
from delivery.send import send_claimed
from ewb.services import Services
from sim import twilio, wechat
from store import tables
from subscribers.officers import Officer
from subscribers.residents import Resident
from subscribers.segmentation import spec_for
from subscribers.terminals import Terminal
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import issue_new, ok, release
from tests.integration.test_planner import expected_plan, make_population, store_population
from tests.support import NOW
from warning.grades import Grade
from web.webhooks_twilio import STATUS_PATH

COUNTY = ["320921"]


async def add_relays(services: Services) -> None:
    """Two officers (one on WeCom, one by SMS) and three loudspeakers."""
    async with services.store.write() as tx:
        await tx.users.upsert_officer(
            Officer(
                "officer_a", "陈平", "+8613912340001", "wx_officer_a", frozenset({"320921101001"})
            ),
            NOW,
        )
        await tx.users.upsert_officer(
            Officer("officer_b", "周红", "+8613912340002", None, frozenset({"320921100001"})), NOW
        )
        await tx.terminals.upsert(
            [
                Terminal(
                    "T1", "东园大喇叭", "320921100001", "33209211000010314010000", None, "online"
                ),
                Terminal(
                    "T2", "渔港大喇叭", "320921101E02", "33209211010000314020000", 1200, "online"
                ),
                Terminal(
                    "T3", "运河大喇叭", "320921107001", "33209211070010314010000", None, "offline"
                ),
            ]
        )


def one_resident(external_id: str, name: str, phone: str, openid: str | None) -> Resident:
    """A resident of 海安居委会 (320921101001) who lists SMS, then WeChat, and wants every grade."""
    return Resident(
        external_id,
        name,
        phone,
        openid,
        "zh-CN",
        "320921101001",
        (),
        ("sms", "wechat"),
        Grade.BLUE,
        False,
    )


def unsettled(found: list) -> list:  # type: ignore[type-arg]
    return [d for d in found if d.state in ("pending", "sending")]


async def test_a_county_fanout_reaches_everyone_once(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        people = make_population(count=300)
        ids = await store_population(e.services, people)
        await add_relays(e.services)
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()

        found = await e.deliveries(issued["id"])
        assert unsettled(found) == []
        async with e.services.store.read() as tx:
            version = (await tx.warnings.get(issued["id"])).warning.latest
            tree = await tx.areas.tree()
        planned = expected_plan(people, spec_for(version, e.services.catalog), tree)
        residents = {r.external_id: r for r in people.residents}
        by_resident: dict[str, list] = {}  # type: ignore[type-arg]
        for d in found:
            if d.recipient_kind == "resident":
                by_resident.setdefault(d.recipient_id, []).append(d)
        assert set(by_resident) == {str(ids[x]) for x in planned}  # everyone planned, once
        for external_id, channel in planned.items():
            first = by_resident[str(ids[external_id])][0]
            assert first.channel == (channel or "none")
            if channel is None:
                assert first.state == "unreachable"

        sms = [m for m in e.sims["twilio"][twilio.SENT] if m.answer == 201]
        phones = Counter(m.to for m in sms)
        assert max(phones.values()) == 1  # nobody got the same SMS twice
        expected_sms = {residents[x].phone for x, c in planned.items() if c == "sms"}
        refused = {p for p in expected_sms if p.endswith("0000")}  # unsubscribed at Twilio
        assert set(phones) - {"+8613912340002"} == expected_sms - refused
        relays = [d for d in found if d.recipient_kind != "resident"]
        assert Counter((d.recipient_kind, d.channel) for d in relays) == {
            ("officer", "wecom"): 1,
            ("officer", "sms"): 1,
            ("terminal", "broadcast"): 3,
        }
        assert all(d.state in ("sent", "delivered") for d in relays)  # callbacks may be in
        wecom = e.sims["wechat"][wechat.SIM].received
        assert any("灾害信息员" in str(m) for m in wecom)


async def test_red_goes_before_blue_and_relays_before_residents(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock, runner_batches=1) as e:
        await store_population(e.services, make_population(count=120))
        await add_relays(e.services)
        blue = await issue_new(api, grade="blue", hazard="rainstorm", areas=COUNTY)
        red = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        sent = [m.body for m in e.sims["twilio"][twilio.SENT] if m.answer == 201]
        residents = [b for b in sent if "灾害信息员" not in b]  # officers have a lane of their own
        kinds = ["red" if "台风红色" in b else "blue" for b in residents]
        assert kinds.index("blue") > len(kinds) - 1 - kinds[::-1].index("red")
        officer_first = sent[0]
        assert "灾害信息员" in officer_first  # the SMS officer before any resident
        assert blue["id"] != red["id"]


async def test_residents_are_planned_in_slices_and_urgent_work_goes_between(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock, plan_slice_residents=50) as e:
        people = make_population(count=300)
        ids = await store_population(e.services, people)
        await add_relays(e.services)
        blue = await issue_new(api, grade="blue", hazard="rainstorm", areas=COUNTY)
        assert (await plan_next(e.services))["step"] == "issued"  # the relays
        first = await plan_next(e.services)
        assert first["step"] == RESIDENTS_EVENT and "planned_upto" in first
        red = await issue_new(api, grade="red", areas=COUNTY)
        between = await plan_next(e.services)  # the red's relays before the blue's next slice
        assert (between["warning_id"], between["step"]) == (red["id"], "issued")
        await e.runner.drain()

        async with e.services.store.read() as tx:
            steps = (
                await tx.conn.execute(
                    select(tables.outbox.c.after_id, tables.outbox.c.summary)
                    .where(
                        tables.outbox.c.warning_id == blue["id"],
                        tables.outbox.c.event == RESIDENTS_EVENT,
                    )
                    .order_by(tables.outbox.c.id)
                )
            ).all()
            batches = (
                await tx.conn.execute(
                    select(tables.delivery_batches.c.first_id, tables.delivery_batches.c.last_id)
                    .where(
                        tables.delivery_batches.c.warning_id == blue["id"],
                        tables.delivery_batches.c.recipient_kind == "resident",
                    )
                    .order_by(tables.delivery_batches.c.first_id)
                )
            ).all()
            version = (await tx.warnings.get(blue["id"])).warning.latest
            tree = await tx.areas.tree()
        assert len(steps) == 7  # 300 residents by 50, and a last slice that finds none left
        assert "deliveries" in steps[-1].summary  # the last slice sums up the version
        found = [d for d in await e.deliveries(blue["id"]) if d.recipient_kind == "resident"]
        planned = expected_plan(people, spec_for(version, e.services.catalog), tree)
        assert sorted(d.recipient_id for d in found) == sorted(str(ids[x]) for x in planned)
        covered = Counter(
            d.id for d in found for first_id, last_id in batches if first_id <= d.id <= last_id
        )
        owed = [d.id for d in found if d.state != "unreachable"]
        assert all(covered[i] == 1 for i in owed)  # every delivery in one batch, once
        assert unsettled(found) == []
        blue_sms = [m.to for m in e.sims["twilio"][twilio.SENT] if "暴雨" in m.body]
        assert blue_sms and max(Counter(blue_sms).values()) == 1  # at the provider: once each


async def test_residents_planning_waits_only_for_the_urgent_batches_of_its_own_lanes(
    api: Api,
    services: Services,
) -> None:
    await store_population(services, make_population(count=40))
    async with services.store.write() as tx:  # an officer, and no loudspeaker
        await tx.users.upsert_officer(
            Officer("officer_a", "陈平", "+8613912340001", "wx_a", frozenset({"320921101001"})),
            NOW,
        )
    issued = await issue_new(api, grade="red", areas=COUNTY)
    assert (await plan_next(services))["step"] == "issued"  # the officer's batch is ready
    both = await plan_next(services, defer_for=lanes.urgent_kinds())
    assert both == {"warning_id": issued["id"], "version": 1, "deferred": True}
    # A worker without the officer lane would wait for a batch another worker sends.
    alone = await plan_next(services, defer_for=lanes.urgent_kinds([lanes.BROADCAST]))
    assert alone is not None and alone["step"] == RESIDENTS_EVENT and "deliveries" in alone


INVALID = "+15005550001"  # Twilio's magic number: 21211, not a valid number
UNSUBSCRIBED = "+8613822220000"  # the simulator: 21610, the number replied STOP


async def test_retries_after_a_provider_outage_and_fallbacks(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        people = make_population(count=120)
        await store_population(e.services, people)
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [
                    one_resident("BAD-1", "错号", INVALID, "oBadNumber000001"),
                    one_resident("BAD-2", "退订", UNSUBSCRIBED, None),
                ],
                NOW,
            )
            bad = {
                r.resident.external_id: str(r.id)
                for r in [await tx.residents.by_external_id(x) for x in ("BAD-1", "BAD-2")]
                if r
            }
        e.sims["twilio"][twilio.FAULTS].rate_500 = 1.0  # Twilio is down
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        sms = [d for d in await e.deliveries(issued["id"]) if d.channel == "sms"]
        assert sms and all(d.state == "pending" and d.next_attempt_at for d in sms)
        assert all(d.attempts == 1 for d in sms)

        e.sims["twilio"][twilio.FAULTS].rate_500 = 0.0  # … and back
        clock.now = NOW + timedelta(minutes=2)
        await e.runner.drain()
        # The provider's late callbacks ("undelivered" after "sent") and their fallbacks.
        await e.callbacks_in()
        await e.runner.drain()
        found = await e.deliveries(issued["id"])
        assert unsettled(found) == []
        for d in found:
            if d.channel == "sms" and d.address not in (INVALID, UNSUBSCRIBED):
                assert d.attempts == 2  # one refused in the outage, one accepted after it
        invalid = [(d.channel, d.state) for d in found if d.recipient_id == bad["BAD-1"]]
        assert invalid == [("sms", "failed"), ("wechat", "sent")]  # fell back to WeChat
        refused = [(d.channel, d.state) for d in found if d.recipient_id == bad["BAD-2"]]
        assert refused == [("sms", "failed")]  # no channel left

        listed = await ok(api.get(f"/warnings/{issued['id']}/unreachable", "duty_chief"))
        unreachable = {r["resident_id"] for r in listed["residents"]}
        expected = {int(d.recipient_id) for d in found if d.recipient_kind == "resident"} - {
            int(d.recipient_id) for d in found if d.state in ("sent", "delivered")
        }
        assert unreachable == expected and int(bad["BAD-2"]) in expected
        assert int(bad["BAD-1"]) not in expected
        entry = next(r for r in listed["residents"] if r["resident_id"] == int(bad["BAD-2"]))
        assert entry["phone"] == "+86138****0000" and entry["channels_tried"] == ["sms"]
        assert entry["last_error"].startswith("21610")
        scoped = await ok(api.get(f"/warnings/{issued['id']}/unreachable", "officer"))
        assert {r["area_code"][:9] for r in scoped["residents"]} <= {"320921101"}


async def test_an_update_during_the_fanout_stops_the_old_version(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock, runner_batches=1, plan_slice_residents=60) as e:
        await store_population(e.services, make_population(count=200))
        yellow = await issue_new(api, grade="yellow", areas=COUNTY)
        wid = yellow["id"]
        assert await e.runner.step()  # plans version 1 and starts its first batch
        await e.runner.settle()
        await ok(
            api.post(
                f"/warnings/{wid}/revisions",
                "forecaster",
                {"action": "escalate", "grade": "orange"},
            ),
            201,
        )
        await release(api, wid, ["duty_chief", "leader"])
        at_update = len(e.sims["twilio"][twilio.SENT])
        await e.runner.drain()

        after = e.sims["twilio"][twilio.SENT][at_update:]
        assert after and all("橙色" in m.body for m in after)  # nothing of version 1 after
        old = await e.deliveries(wid, 1)
        assert {d.state for d in old} <= {"sent", "delivered", "cancelled", "failed", "unreachable"}
        assert any(d.state == "cancelled" for d in old)  # the rest of version 1 never went
        sent_v1 = {d.recipient_id for d in old if d.state in ("sent", "delivered")}
        new = {d.recipient_id: d for d in await e.deliveries(wid, 2)}
        assert sent_v1 <= set(new)  # those who got yellow hear about orange


async def test_an_all_clear_goes_to_those_who_were_sent_and_the_loudspeakers(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock, plan_slice_residents=25) as e:  # 80 residents: 4 slices
        await store_population(e.services, make_population(count=80))
        await add_relays(e.services)
        issued = await issue_new(api, grade="orange", areas=["320921101"])
        wid = issued["id"]
        await e.runner.drain()
        reached = {
            (d.recipient_kind, d.recipient_id)
            for d in await e.deliveries(wid, 1)
            if d.state in ("sent", "delivered")
        }
        await ok(api.post(f"/warnings/{wid}/revisions", "forecaster", {"action": "cancel"}), 201)
        await release(api, wid, ["duty_chief"])
        await e.runner.drain()
        cancel = await e.deliveries(wid, 2)
        assert {
            (d.recipient_kind, d.recipient_id) for d in cancel if d.recipient_kind != "terminal"
        } == {k for k in reached if k[0] != "terminal"}
        residents = [d.recipient_id for d in cancel if d.recipient_kind == "resident"]
        assert len(residents) == len(set(residents))  # each resident's all-clear once
        assert {d.recipient_id for d in cancel if d.recipient_kind == "terminal"} == {"T2"}
        async with e.services.store.read() as tx:
            slices = await tx.conn.scalar(
                select(func.count()).where(
                    tables.outbox.c.warning_id == wid,
                    tables.outbox.c.version == 2,
                    tables.outbox.c.event == RESIDENTS_EVENT,
                )
            )
        assert slices == 4  # the all-clear's residents were added a slice at a time


async def test_deliveries_caught_sending_by_a_crash_are_sent_again_and_counted(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=60))
        issued = await issue_new(api, grade="red", areas=COUNTY)
        assert await plan_all(e.services)
        async with e.services.store.write() as tx:  # a runner claims a batch, then dies
            batch = await tx.batches.claim_batch(clock())
            assert batch is not None
            claimed = await tx.batches.claim_in_batch(batch, 7, clock())
        assert await e.runner.recover() == (1, len(claimed))
        await e.runner.drain()
        found = await e.deliveries(issued["id"])
        assert unsettled(found) == []
        flagged = {d.id for d in found if d.resent_after_crash}
        assert set(claimed) <= flagged
        progress = await ok(api.get(f"/warnings/{issued['id']}/progress"))
        assert progress["resent_after_crash"] == len(flagged) and progress["done"] is True


LOST = "+8613822220014"  # the simulator accepts it, then the carrier reports failed (30008)


async def test_an_sms_the_carrier_could_not_deliver_moves_to_wechat(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=20))
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [one_resident("LOST-1", "失联", LOST, "oLostAtCarrier01")],
                NOW,
            )
            stored = await tx.residents.by_external_id("LOST-1")
            assert stored is not None
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        callbacks = e.sims["twilio"][twilio.CALLBACKS]
        async with asyncio.timeout(10):
            await callbacks.wait_until(
                lambda posted: any(
                    p.params["To"] == LOST and p.params["MessageStatus"] == "failed" and p.answer
                    for p in posted
                )
            )
        await e.callbacks_in()
        await e.runner.drain()
        mine = [d for d in await e.deliveries(issued["id"]) if d.recipient_id == str(stored.id)]
        assert [(d.channel, d.state) for d in mine] == [("sms", "failed"), ("wechat", "sent")]
        assert mine[0].last_error and mine[0].last_error.startswith("30008")
        openids = [str(m) for m in e.sims["wechat"][wechat.SIM].received]
        assert any("oLostAtCarrier01" in m for m in openids)


async def test_an_update_reaches_the_officers_once(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=40))
        await add_relays(e.services)
        issued = await issue_new(api, grade="yellow", areas=COUNTY)
        await e.runner.drain()
        wid = issued["id"]
        await ok(
            api.post(
                f"/warnings/{wid}/revisions",
                "forecaster",
                {"action": "escalate", "grade": "orange"},
            ),
            201,
        )
        await release(api, wid, ["duty_chief", "leader"])
        await e.runner.drain()
        officers = [d for d in await e.deliveries(wid, 2) if d.recipient_kind == "officer"]
        assert sorted(d.recipient_id for d in officers) == ["officer_a", "officer_b"]
        assert all(d.state in ("sent", "delivered") for d in officers)


async def test_a_due_retry_of_a_superseded_version_is_never_sent(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """Between an update's issue and the planning of its residents (seconds for a county),
    the older version's due retries are not claimed; planning then cancels them."""
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=40))
        red = await issue_new(api, grade="red", areas=["320921"])
        await e.runner.drain()
        first = next(d for d in await e.deliveries(red["id"], 1) if d.recipient_kind == "resident")
        async with e.services.store.write() as tx:  # as a retryable failure leaves it
            await tx.conn.execute(
                update(tables.deliveries)
                .where(tables.deliveries.c.id == first.id)
                .values(state="pending", next_attempt_at=clock.now)
            )
        async with e.services.store.write() as tx:
            assert await tx.batches.claim_due(10, clock.now) == [first.id]  # v1 in force
            await tx.conn.execute(
                update(tables.deliveries)
                .where(tables.deliveries.c.id == first.id)
                .values(state="pending", next_attempt_at=clock.now)
            )
        await ok(
            api.post(f"/warnings/{red['id']}/revisions", "forecaster", {"action": "update"}), 201
        )
        await release(api, red["id"], ["duty_chief", "leader"])  # v2 issued, not planned yet
        async with e.services.store.write() as tx:
            assert await tx.batches.claim_due(10, clock.now) == []
        await plan_all(e.services)
        (again,) = [d for d in await e.deliveries(red["id"], 1) if d.id == first.id]
        assert again.state == "cancelled"


async def test_a_batch_stopped_while_it_waits_for_its_pace_sends_nothing_and_loses_nobody(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """A resident chunk waiting for the provider's pace when its batch yields: nothing of
    it reaches the simulator, every delivery is pending again, and sent later once."""
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=30))
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await plan_all(e.services)
        residents = [
            d.id
            for d in await e.deliveries(issued["id"])
            if d.recipient_kind == "resident" and d.channel == "sms"
        ]
        assert residents
        async with e.services.store.write() as tx:
            claimed = await tx.batches.claim_ids(residents, clock())
        limiter = RateLimiter({"sms": 1.0})
        await limiter.acquire("sms", 2)  # the next SMS may go in 2 s
        stop = asyncio.Event()
        sending = asyncio.create_task(
            send_claimed(e.services, e.adapters, claimed, limiter, None, stop)
        )
        await asyncio.sleep(0.3)
        stop.set()
        async with asyncio.timeout(5):
            assert await sending == []
        again = [d for d in await e.deliveries(issued["id"]) if d.id in claimed]
        mine = {d.address for d in again}
        assert not [m for m in e.sims["twilio"][twilio.SENT] if m.to in mine]
        assert {(d.state, d.attempts) for d in again} == {("pending", 0)}
        await e.runner.drain()
        phones = Counter(m.to for m in e.sims["twilio"][twilio.SENT] if m.answer == 201)
        assert mine and all(phones[p] == 1 for p in mine)


async def test_a_late_undelivered_after_delivered_sends_nothing_on_the_next_channel(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    phone, openid = "+8613812345670", "oLateCallback001"
    async with engine(settings, clock) as e:
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [one_resident("LATE-1", "迟到", phone, openid)],
                NOW,
            )
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        callbacks = e.sims["twilio"][twilio.CALLBACKS]
        async with asyncio.timeout(10):
            posted = await callbacks.wait_until(
                lambda posted: any(
                    p.params["To"] == phone
                    and p.params["MessageStatus"] == "delivered"
                    and p.answer
                    for p in posted
                )
            )
        sid = next(p.params["MessageSid"] for p in posted if p.params["To"] == phone)
        late = {**next(p.params for p in posted if p.params["To"] == phone)}
        late.update(MessageStatus="undelivered", SmsStatus="undelivered", ErrorCode="30003")
        url = e.settings.public_base_url + STATUS_PATH
        signature = RequestValidator(SANDBOX_TWILIO_TOKEN).compute_signature(url, late)
        async with aiohttp.ClientSession() as http:
            for _ in range(2):  # and again: still nothing
                headers = {"X-Twilio-Signature": signature}
                async with http.post(url, data=late, headers=headers) as reply:
                    assert reply.status == 200
        await e.callbacks_in()
        await e.runner.drain()
        mine = [d for d in await e.deliveries(issued["id"]) if d.address in (phone, openid)]
        assert [(d.channel, d.state, d.provider_id) for d in mine] == [("sms", "delivered", sid)]
        received = [str(m) for m in e.sims["wechat"][wechat.SIM].received]
        assert not any(openid in m for m in received)


async def test_undelivered_after_a_refused_then_accepted_send_falls_back(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """A 500 before the message was accepted is a `failed` event on the delivery too; the
    carrier's later "undelivered" must still move the person to WeChat (the storm lost
    such residents)."""
    phone, openid = "+8613812345613", "oRetriedThenLost01"  # 13: the carrier fails it
    async with engine(settings, clock) as e:
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [one_resident("RETRIED-1", "重试", phone, openid)],
                NOW,
            )
        e.sims["twilio"][twilio.FAULTS].rate_500 = 1.0
        issued = await issue_new(api, grade="red", areas=COUNTY)
        await e.runner.drain()
        e.sims["twilio"][twilio.FAULTS].rate_500 = 0.0
        clock.now = NOW + timedelta(minutes=2)
        await e.runner.drain()
        await e.callbacks_in()
        await e.runner.drain()
        mine = [d for d in await e.deliveries(issued["id"]) if d.address in (phone, openid)]
        assert [(d.channel, d.state) for d in mine] == [("sms", "failed"), ("wechat", "sent")]
        answers = [m.answer for m in e.sims["twilio"][twilio.SENT] if m.to == phone]
        assert answers == [500, 201]
        received = [r.to for r in e.sims["wechat"][wechat.SIM].received]
        assert received.count(openid) == 1
