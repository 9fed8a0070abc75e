"""Coverage of a warning against hand-computed figures, on SQLite and PostgreSQL.

Three villages: 海安 (A) and 大湾 (B) in 陈家港镇, 东园 (C) in 响水镇, with the sample
population figures. Six residents, three loudspeakers, one relay report; events are
recorded through the same store calls the webhooks and the engine use.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from channels.base import Outcome, SendResult
from delivery.fanout import plan_all
from ewb.services import Services
from store.deliveries import Delivery
from subscribers.residents import Resident
from subscribers.terminals import Terminal
from tests.integration.cli import ewb
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import deliveries_of
from tests.integration.flows import issue_new, ok
from tests.support import NOW
from warning.grades import Grade

A, B, C = "320921101001", "320921101002", "320921100001"
POP = {A: (4955, 1754), B: (4382, 1573), C: (7879, 2963)}  # sample population, households
TA_COVERS = 1000


def resident(
    n: int, area: str, phone: bool, wechat: bool, groups: tuple[str, ...] = ()
) -> Resident:
    return Resident(
        external_id=f"R{n}",
        name=f"居民{n}",
        phone=f"+8613800000{n:03d}" if phone else None,
        wechat_openid=f"oCoverage{n:04d}" if wechat else None,
        locale="zh-CN",
        area_code=area,
        groups=groups,
        channels=("sms", "wechat") if phone else ("wechat", "sms"),
        min_grade=Grade.BLUE,
        test_recipient=False,
    )


PEOPLE = [
    resident(1, A, phone=True, wechat=True, groups=("fisherman",)),
    resident(2, A, phone=True, wechat=False),
    resident(3, A, phone=False, wechat=False),  # no channel: unreachable, then relayed
    resident(4, B, phone=False, wechat=True),
    resident(5, C, phone=True, wechat=False, groups=("fisherman",)),
    resident(6, C, phone=True, wechat=False),  # the SMS fails for good
]


def estimate(pop: int, individual: float, broadcast: float, relayed: float) -> float:
    """DESIGN.md §6, written out again here."""
    return 1 - (1 - min(individual / pop, 1)) * (1 - min(broadcast / pop, 1)) * (
        1 - min(relayed / pop, 1)
    )


async def setup(services: Services) -> dict[str, int]:
    async with services.store.write() as tx:
        await tx.residents.upsert_many(PEOPLE, NOW)
        await tx.terminals.upsert(
            [
                Terminal("TA", "海安大喇叭", A, "33209211010010314010000", TA_COVERS, "online"),
                Terminal("TA2", "海安二号", A, "33209211010010314020000", None, "offline"),
                Terminal("TC", "东园大喇叭", C, "33209211000010314010000", None, "online"),
            ]
        )
        found, _ = await tx.residents.search(
            scope=["320921"], area=None, group=None, phone_suffix=None, limit=100, offset=0
        )
    return {r.resident.external_id: r.id for r in found}


async def issue_and_record(
    api: Api, services: Services, clock: FakeClock
) -> tuple[int, dict[str, int]]:
    """Issue a red typhoon warning for A, B and C, plan it, then record what happened."""
    ids = await setup(services)
    issued = await issue_new(api, grade="red", areas=[A, B, C])
    assert await plan_all(services)
    found = await deliveries_of(services, issued["id"])
    of: dict[str, Delivery] = {}
    for d in found:
        key = (
            d.recipient_id
            if d.recipient_kind == "terminal"
            else next(x for x, i in ids.items() if str(i) == d.recipient_id)
        )
        if d.recipient_kind in ("resident", "terminal"):
            of[key] = d
    start = clock.now

    async def at(seconds: int) -> None:
        clock.now = start + timedelta(seconds=seconds)

    store = services.store
    await at(10)
    async with store.write() as tx:
        await tx.deliveries.record_result(SendResult.accepted(of["R1"].id, "SM1"), clock.now)
        await tx.deliveries.append(of["R1"].id, "delivered", clock.now, "delivered")
        await tx.deliveries.record_result(SendResult.accepted(of["R2"].id, "SM2"), clock.now)
    await at(20)
    async with store.write() as tx:
        await tx.deliveries.record_accepted([SendResult.accepted(of["R4"].id, "WX4")], clock.now)
        failed = SendResult(of["R6"].id, Outcome.PERMANENT, code="21211", detail="invalid")
        await tx.deliveries.record_result(failed, clock.now)
    await at(30)
    async with store.write() as tx:
        for terminal in ("TA", "TC"):
            await tx.deliveries.append(of[terminal].id, "played", clock.now)
    await at(40)
    async with store.write() as tx:
        await tx.deliveries.append(of["R1"].id, "acknowledged", clock.now, None, "收到")
    await at(50)
    async with store.write() as tx:
        await tx.deliveries.record_result(SendResult.accepted(of["R5"].id, "SM5"), clock.now)
        await tx.deliveries.append(of["R5"].id, "delivered", clock.now, "delivered")
    await at(60)
    relay = await ok(
        api.post(
            f"/warnings/{issued['id']}/relays",
            "officer",
            {"area": A, "households": 10, "residents": [ids["R1"], ids["R3"]], "note": "敲锣"},
        ),
        201,
    )
    assert relay["households"] == 10 and relay["residents"] == 2
    return issued["id"], ids


def expected_figures() -> dict[str, float]:
    (pa, ha), (pb, _), (pc, _) = POP[A], POP[B], POP[C]
    est_a = estimate(pa, 2, TA_COVERS, 10 * pa / ha)  # R1 (SMS, ack, relay: once), R3 (relay)
    est_b = estimate(pb, 1, 0, 0)  # R4 by WeChat
    est_c = estimate(pc, 1, pc, 0)  # R5; the only working loudspeaker covers everyone
    return {A: est_a, B: est_b, C: est_c}


async def test_coverage_per_area_town_and_county_matches_the_hand_count(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    report = await ok(api.get(f"/warnings/{warning_id}/coverage"))
    est = expected_figures()
    (pa, _), (pb, _), (pc, _) = POP[A], POP[B], POP[C]
    areas = {a["code"]: a for a in report["areas"]}
    assert set(areas) == {A, B, C}
    assert [areas[c]["individual"] for c in (A, B, C)] == [2, 1, 1]
    assert areas[A]["broadcast_population"] == TA_COVERS  # TA2 is offline: it never played
    assert areas[C]["broadcast_population"] == pc  # an equal share: the only loudspeaker
    assert areas[A]["terminals"] == 2 and areas[A]["terminals_played"] == 1
    assert areas[A]["relayed_households"] == 10
    for code in (A, B, C):
        assert abs(areas[code]["estimated"] - est[code]) < 1e-4, code
    assert areas[A]["strict"] == round(2 / pa, 4)
    assert areas[C]["meets_public_target"] and not areas[A]["meets_public_target"]

    towns = {t["code"]: t for t in report["towns"]}
    assert towns["320921101"]["population"] == pa + pb
    assert abs(towns["320921101"]["estimated"] - (est[A] * pa + est[B] * pb) / (pa + pb)) < 1e-4
    county = report["county"]
    assert county["population"] == pa + pb + pc
    assert county["individual"] == 4
    total = (est[A] * pa + est[B] * pb + est[C] * pc) / (pa + pb + pc)
    assert abs(county["estimated"] - total) < 1e-4
    assert abs(county["broadcast"] - (TA_COVERS + pc) / (pa + pb + pc)) < 1e-4
    assert "1 − (1 − individual/pop)" in report["formula"]
    assert report["targets"] == {"public": 0.95, "broadcast": 0.9}

    # Unreachable: R3 had no channel but an officer reached him; R6's SMS failed for good.
    assert areas[A]["unreachable"] == 0 and areas[C]["unreachable"] == 1
    gaps = {g["code"]: g for g in report["gaps"]}
    assert set(gaps) == {A, B}  # C is covered by its loudspeaker
    assert "officer" in gaps[A]["officers"]
    listed = await ok(api.get(gaps[A]["unreachable_residents"].removeprefix("/api/v1"), "officer"))
    assert listed["count"] == 0  # R3 had no channel, but the officer reached him
    in_c = await ok(api.get(f"/warnings/{warning_id}/unreachable?area={C}", "duty_chief"))
    assert [r["external_id"] for r in in_c["residents"]] == ["R6"]
    outside = await api.get(f"/warnings/{warning_id}/unreachable?area={C}", "officer")
    assert (outside.status, outside.body["rule"]) == (403, "area_scope")

    assert {g["group"]: (g["planned"], g["reached"]) for g in report["groups"]} == {
        "fisherman": (2, 2)
    }
    channels = {c["channel"]: (c["planned"], c["reached"]) for c in report["channels"]}
    assert channels == {"sms": (4, 2), "wechat": (1, 1), "ack": (0, 1), "relay": (0, 2)}


async def test_coverage_over_time_and_time_to_half(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    report = await ok(api.get(f"/warnings/{warning_id}/coverage"))
    (pa, _), (pb, _), (pc, _) = POP[A], POP[B], POP[C]
    whole = pa + pb + pc
    expected = {
        10: estimate(pa, 1, 0, 0) * pa / whole,
        20: (estimate(pa, 1, 0, 0) * pa + estimate(pb, 1, 0, 0) * pb) / whole,
        30: (estimate(pa, 1, TA_COVERS, 0) * pa + estimate(pb, 1, 0, 0) * pb + pc) / whole,
    }
    points = dict(report["timeline"])
    for second, value in expected.items():
        assert abs(points[second] - value) < 1e-4, second
    assert abs(report["timeline"][-1][1] - report["county"]["estimated"]) < 1e-4
    assert expected[30] >= 0.5 > expected[20]
    assert report["time_to"] == {"0.5": 30, "0.9": None, "0.95": None}


async def test_coverage_csv_has_a_row_per_area_town_and_the_county(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    reply = await api.call("GET", f"/warnings/{warning_id}/coverage.csv", "duty_chief")
    assert reply.status == 200
    rows = list(csv.DictReader(io.StringIO(reply.body.decode("utf-8"))))
    assert [r["level"] for r in rows] == ["area"] * 3 + ["town"] * 2 + ["county"]
    by_code = {r["code"]: r for r in rows}
    assert by_code[A]["individual"] == "2" and by_code[A]["town"] == "320921101"
    assert by_code["320921"]["population"] == str(sum(p for p, _ in POP.values()))


async def test_relay_reports_are_refused_outside_the_officers_rules(
    api: Api, services: Services, clock: FakeClock
) -> None:
    ids = await setup(services)
    issued = await issue_new(api, grade="red", areas=[A, C])
    path = f"/warnings/{issued['id']}/relays"
    cases = [
        ("forecaster", {"area": A, "households": 3}, 403, None),
        ("officer", {"area": C, "households": 3}, 403, None),  # 响水镇: not their town
        ("officer", {"area": B, "households": 3}, 422, "area"),  # not targeted
        ("officer", {"area": A, "households": POP[A][1] + 1}, 422, "households"),
        ("officer", {"area": A, "households": 0}, 422, "households"),
        ("officer", {"area": A, "households": 1, "residents": [ids["R5"]]}, 422, "residents"),
        ("officer", {"area": A, "households": -1}, 422, "households"),
        ("officer", {"area": A, "households": 1, "colour": "red"}, 422, "colour"),
    ]
    for user, body, status, field in cases:
        reply = await api.post(path, user, body)
        assert reply.status == status, (body, reply.body)
        assert reply.body.get("field") == field, body
    async with services.store.read() as tx:
        assert await tx.reach.relays(issued["id"], 1) == []
        entries = await tx.audit.entries(warning_id=issued["id"])
    refused = [e for e in entries if e.action == "relay.report"]
    assert len(refused) == len(cases) and all(e.outcome == "refused" for e in refused)


async def test_ewb_report_prints_the_towns_and_writes_a_readable_html_report(
    api: Api,
    services: Services,
    clock: FakeClock,
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    est = expected_figures()
    (pa, _), (pb, _), _ = POP[A], POP[B], POP[C]
    target = tmp_path / "report.html"
    done = ewb(settings, "report", str(warning_id), "--html", str(target))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    town = next(line for line in lines if line.startswith("陈家港镇 (320921101)"))
    assert town.split()[-2:] == [f"{(est[A] * pa + est[B] * pb) / (pa + pb):.1%}", "BELOW"]
    assert any(line.startswith("响水镇 (320921100)") and line.endswith("ok") for line in lines)
    assert "50% in 0 min 30 s" in done.stdout
    assert f"HTML report: {target}" in done.stdout

    page = target.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org", "")
    assert page.count("<svg") == 2 and "95%" in page
    assert f"{est[A] * 100:.1f}%" in page  # 海安's estimated coverage in the village table
    assert "大湾居委会" in page and "估算公众覆盖率" in page and "Estimated public coverage" in page
    assert "1 − (1 − individual/pop)" in page
    # The gap list: 海安 and 大湾 with their officer; R6 of 东园 is unreachable but 东园 is
    # covered by its loudspeaker, so no resident is listed.
    assert "officer" in page and "+86138****" not in page

    missing = ewb(settings, "report", "999999")
    assert missing.returncode == 1 and "999999" in missing.stderr


async def test_the_period_kpis_count_actual_warnings_only(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    exercise = await issue_new(api, grade="red", areas=[C], mode="exercise")
    est = expected_figures()
    pops = {code: p for code, (p, _) in POP.items()}
    whole = sum(pops.values())
    kpis = await ok(api.get("/reports/kpi?from=2026-07-28&to=2026-07-29", "leader"))
    assert kpis["count"] == 1  # the exercise is not counted
    [row] = kpis["warnings"]
    assert (row["warning_id"], row["version"], row["grade"]) == (warning_id, 1, "red")
    assert row["warning_id"] != exercise["id"]
    public, broadcast = kpis["indicators"]
    assert public["name"] == "预警信息公众覆盖率" and public["target"] == 0.95
    assert abs(public["value"] - sum(est[c] * pops[c] for c in pops) / whole) < 1e-4
    assert public["met"] is False
    assert broadcast["name"] == "应急广播覆盖率" and broadcast["target"] == 0.9
    assert abs(broadcast["value"] - (TA_COVERS + pops[C]) / whole) < 1e-4
    assert kpis["strict"] == round(4 / whole, 4)
    assert kpis["from"] == "2026-07-28T00:00:00+08:00"

    later = await ok(api.get("/reports/kpi?from=2026-07-29&to=2026-07-30", "leader"))
    assert later["count"] == 0 and later["indicators"][0]["value"] is None
    wrong = await api.get("/reports/kpi?from=2026-07-29&to=2026-07-28", "leader")
    assert (wrong.status, wrong.body["field"]) == (422, "to")
    garbled = await api.get("/reports/kpi?from=yesterday", "leader")
    assert (garbled.status, garbled.body["field"]) == (422, "from")
