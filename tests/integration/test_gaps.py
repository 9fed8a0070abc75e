"""The gap check: 10 minutes after a red warning, villages below 95 % are played it again
and their officers asked to relay, once, each action audited. Against the simulators,
with a controllable clock."""

from __future__ import annotations

from datetime import timedelta

from config.settings import Settings
from reach.gaps import check_gaps
from subscribers.residents import Resident
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import issue_new, ok
from tests.integration.test_fanout import add_relays
from tests.integration.test_reminders import OFFICER_B_PHONE, of, sign_in, sms_to, wecom_to
from tests.integration.test_timers import Woken
from tests.support import NOW
from warning.grades import Grade

A, C = "320921101001", "320921100001"  # 海安 (officer_a, WeCom), 东园 (officer_b, SMS; T1)
REFUSED = "+8613800010000"  # the Twilio simulator refuses numbers ending 0000


def person(n: int, area: str, phone: str | None) -> Resident:
    return Resident(
        external_id=f"G{n}",
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


async def test_villages_below_target_are_played_again_and_their_officers_asked_to_relay(
    api: Api, settings: Settings, clock: FakeClock
) -> None:
    async with engine(settings, clock, gap_check_minutes=10) as e:
        await add_relays(e.services)
        await sign_in(e.services, "officer_a")
        async with e.services.store.write() as tx:
            await tx.residents.upsert_many(
                [
                    person(1, A, None),
                    person(2, A, "+8613800010001"),
                    person(3, C, REFUSED),  # its SMS is refused for good: unreachable
                    person(4, C, None),
                    person(5, C, "+8613800010005"),
                ],
                NOW,
            )
            households = next(f.households for f in await tx.areas.figures([A]))
        issued = await issue_new(api, grade="red", areas=[A, C])
        wid = issued["id"]
        yellow = await issue_new(api, grade="yellow", areas=[C])  # yellow: never checked
        await e.runner.drain()

        clock.now = NOW + timedelta(minutes=5)  # 海安's officer went door to door
        path = f"/warnings/{wid}/relays"
        await ok(api.post(path, "officer_a", {"area": A, "households": households}), 201)

        woken = Woken()
        clock.now = NOW + timedelta(minutes=9, seconds=59)
        assert await check_gaps(e.services, woken) == 0
        clock.now = NOW + timedelta(minutes=10)
        assert await check_gaps(e.services, woken) == 1
        assert woken.times == 1
        assert await check_gaps(e.services, woken) == 0  # once per version

        found = await e.deliveries(wid)
        assert [(d.recipient_id, d.repeat) for d in found if d.recipient_kind == "terminal"] == [
            ("T1", 0),
            ("T1", 1),  # 东园's loudspeaker again; 海安 meets the target
        ]
        [request] = of(found, "gap", "officer_b")
        assert (request.channel, request.address) == ("sms", OFFICER_B_PHONE)
        assert of(found, "gap", "officer_a") == []
        async with e.services.store.read() as tx:  # the red one is done; yellow never due
            assert await tx.timers.gap_checks_due(clock.now + timedelta(days=1)) == []
        assert yellow["grade"] == "yellow"

        await e.runner.drain()
        [relay_request] = [t for t in sms_to(e, OFFICER_B_PHONE) if "请协助转告" in t]
        assert "东园居委会" in relay_request and "居民3 " + REFUSED in relay_request
        assert "居民4" in relay_request and "居民5" not in relay_request  # 5 got the SMS
        assert not any("请协助转告" in t for t in wecom_to(e, "wx_officer_a"))
        after = await e.deliveries(wid)
        assert [d.state for d in after if d.recipient_kind == "terminal" and d.repeat] == ["sent"]

        entries = await ok(api.get(f"/audit?warning_id={wid}", "admin"))
        actions = {x["action"]: x for x in entries["entries"] if x["action"].startswith("gaps.")}
        assert actions["gaps.check"]["details"]["areas_below_target"] == [C]
        assert actions["gaps.check"]["actor"] == "system"
        assert actions["gaps.rebroadcast"]["details"] == {"areas": [C], "terminals": 1, "repeat": 1}
        assert actions["gaps.relay_request"]["details"] == {"officer": "officer_b", "areas": [C]}
