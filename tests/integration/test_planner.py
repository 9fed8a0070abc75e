"""The segmentation planner against an independent count, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from ewb.services import Services
from store import tables
from store.recipients import plan
from subscribers.residents import Resident
from subscribers.segmentation import AudienceSpec, spec_for
from subscribers.terminals import Terminal
from tests.integration.conftest import Api
from tests.integration.flows import draft, ok
from tests.support import CHENJIAGANG, NOW, XIANGSHUI_TOWN
from warning.grades import Grade

HARBOUR = "320921101E02"  # 陈家港渔港, an extra area inside 陈家港镇
HOMES = [
    "320921101001",
    "320921101002",
    "320921101003",
    HARBOUR,
    "320921100001",
    "320921100002",
    "320921102001",
    "320921107001",
]
GROUPS = ["elderly", "fisherman", "disabled", "hearing_impaired", "school"]
ORDERS = [("sms",), ("wechat",), ("sms", "wechat"), ("wechat", "sms"), ()]


@dataclass
class Population:
    residents: list[Resident]
    typhoon_minimum: dict[str, Grade]  # per-hazard overrides for typhoon
    opted_out: dict[str, set[str]]  # external id → channels unsubscribed


def make_population(seed: int = 7, count: int = 400) -> Population:
    rng = random.Random(seed)
    residents, minimum, opted = [], {}, {}
    for n in range(count):
        listed = rng.choice(ORDERS)
        residents.append(
            Resident(
                external_id=f"P{n:04d}",
                name=f"居民{n}",
                phone=f"+86138{n:08d}" if rng.random() < 0.85 else None,
                wechat_openid=f"oTest{n:06d}xyz" if rng.random() < 0.5 else None,
                locale="zh-CN",
                area_code=rng.choice(HOMES),
                groups=tuple(sorted(rng.sample(GROUPS, rng.choice((0, 0, 1, 2))))),
                channels=listed + tuple(c for c in ("sms", "wechat") if c not in listed),
                min_grade=rng.choice(list(Grade)),
                test_recipient=rng.random() < 0.15,
            )
        )
        if rng.random() < 0.2:
            minimum[f"P{n:04d}"] = rng.choice(list(Grade))
        if rng.random() < 0.1:
            opted[f"P{n:04d}"] = {rng.choice(("sms", "wechat"))}
    return Population(residents, minimum, opted)


async def store_population(services: Services, people: Population) -> dict[str, int]:
    """Store through the import path; returns external id → resident id."""
    async with services.store.write() as tx:
        await tx.residents.upsert_many(people.residents, NOW)
        ids = dict(
            (
                await tx.conn.execute(select(tables.residents.c.external_id, tables.residents.c.id))
            ).all()
        )
        for external_id, grade in people.typhoon_minimum.items():
            await tx.residents.set_hazard_grades(ids[external_id], {"typhoon": grade})
        for external_id, channels in people.opted_out.items():
            for channel in channels:
                await tx.residents.opt_out(ids[external_id], channel, NOW)
    return ids


def expected_plan(people: Population, spec: AudienceSpec, tree: Any) -> dict[str, str | None]:
    """The planner's rules restated plainly, resident by resident (the independent count)."""
    chosen: dict[str, str | None] = {}
    for r in people.residents:
        if not tree.is_within(r.area_code, spec.areas):
            continue
        if spec.groups and not set(r.groups) & spec.groups:
            continue
        minimum = (
            people.typhoon_minimum.get(r.external_id, r.min_grade)
            if spec.hazard == "typhoon"
            else r.min_grade
        )
        if spec.grade not in (Grade.ORANGE, Grade.RED) and spec.grade.rank < minimum.rank:
            continue
        if spec.test_only and not r.test_recipient:
            continue
        address = {"sms": r.phone, "wechat": r.wechat_openid}
        usable = [
            c
            for c in r.channels
            if address[c] and c not in people.opted_out.get(r.external_id, set())
        ]
        chosen[r.external_id] = usable[0] if usable else None
    return chosen


SCENARIOS = {
    "red typhoon, county": dict(areas=("320921",), groups=(), hazard="typhoon", grade="red"),
    "blue rainstorm, one town": dict(
        areas=(CHENJIAGANG,), groups=(), hazard="rainstorm", grade="blue"
    ),
    "yellow typhoon, village inside a named town": dict(
        areas=("320921101001", CHENJIAGANG, XIANGSHUI_TOWN),
        groups=(),
        hazard="typhoon",
        grade="yellow",
    ),
    "orange typhoon, disabled (with hearing impaired)": dict(
        areas=("320921",), groups=("disabled",), hazard="typhoon", grade="orange"
    ),
    "exercise, red typhoon": dict(
        areas=("320921",), groups=(), hazard="typhoon", grade="red", mode="exercise"
    ),
    "yellow lightning, two groups": dict(
        areas=("320921",), groups=("fisherman", "elderly"), hazard="thunderstorm", grade="yellow"
    ),
    "blue flood, harbour only": dict(areas=(HARBOUR,), groups=(), hazard="flood", grade="blue"),
}


def spec_of(scenario: dict[str, Any], services: Services) -> AudienceSpec:
    groups = services.catalog.members_of(scenario["groups"]) if scenario["groups"] else frozenset()
    return AudienceSpec(
        areas=scenario["areas"],
        groups=groups,
        hazard=scenario["hazard"],
        grade=Grade(scenario["grade"]),
        test_only=scenario.get("mode", "actual") != "actual",
        no_voice_only_groups=services.catalog.no_voice_only_groups(),
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_plan_matches_an_independent_count(services: Services, name: str) -> None:
    people = make_population()
    ids = await store_population(services, people)
    by_id = {v: k for k, v in ids.items()}
    spec = spec_of(SCENARIOS[name], services)
    async with services.store.read() as tx:
        tree = await tx.areas.tree()
        rows = (await tx.conn.execute(plan(spec))).all()
        audience = await tx.recipients.audience(spec)
    planned = {by_id[r.resident_id]: r.channel for r in rows}
    expected = expected_plan(people, spec, tree)

    assert len(rows) == len(planned)  # one row per person, whatever groups or areas overlap
    assert planned == expected
    assert expected, "the scenario should match someone"
    assert audience.people == len(expected)
    assert audience.unreachable == sum(1 for c in expected.values() if c is None)
    assert audience.by_channel == {
        c: n for c in ("sms", "wechat") if (n := sum(1 for v in expected.values() if v == c))
    }
    residents = {r.external_id: r for r in people.residents}
    for area in spec.areas:
        inside = [e for e in expected if tree.is_within(residents[e].area_code, [area])]
        assert audience.by_area.get(area, 0) == len(inside)
        assert audience.unreachable_by_area.get(area, 0) == sum(
            1 for e in inside if expected[e] is None
        )
    for group in GROUPS:
        members = sum(1 for e in expected if group in residents[e].groups)
        assert audience.by_group.get(group, 0) == members
    assert audience.unreachable_no_voice == sum(
        1 for e, c in expected.items() if c is None and "hearing_impaired" in residents[e].groups
    )


async def test_terminals_of_the_targeted_areas_and_their_population(services: Services) -> None:
    terminals = [
        Terminal("T1", "东园大喇叭1", "320921100001", "E1", None, "online"),
        Terminal("T2", "东园大喇叭2", "320921100001", "E2", None, "offline"),
        Terminal("T3", "渔港大喇叭", HARBOUR, "E3", 1200, "online"),
        Terminal("T4", "运河大喇叭", "320921107001", "E4", None, "online"),
    ]
    async with services.store.write() as tx:
        await tx.terminals.upsert(terminals)
        figures = {f.code: f.population for f in await tx.areas.figures()}
    spec = spec_of(
        dict(areas=(XIANGSHUI_TOWN, CHENJIAGANG), groups=(), hazard="typhoon", grade="red"),
        services,
    )
    async with services.store.read() as tx:
        audience = await tx.recipients.audience(spec)
    assert (audience.terminals, audience.terminals_online) == (3, 2)
    # Two terminals share 东园居委会's population; the harbour's terminal has its own figure.
    assert audience.terminal_population == 2 * (figures["320921100001"] // 2) + 1200


async def test_unsubscribed_channel_is_skipped_and_survives_reimport(services: Services) -> None:
    person = Resident(
        "U1",
        "王芳",
        "+8613812345678",
        "oWechat123456",
        "zh-CN",
        "320921101001",
        (),
        ("sms", "wechat"),
        Grade.BLUE,
        False,
    )
    async with services.store.write() as tx:
        await tx.residents.upsert_many([person], NOW)
        stored = await tx.residents.by_external_id("U1")
        assert stored is not None
        await tx.residents.opt_out(stored.id, "sms", NOW)
    async with services.store.write() as tx:
        counts = await tx.residents.upsert_many([person], NOW)  # the county re-imports its list
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 1)
    spec = spec_of(SCENARIOS["red typhoon, county"], services)
    async with services.store.read() as tx:
        rows = (await tx.conn.execute(plan(spec))).all()
    assert [r.channel for r in rows] == ["wechat"]


async def test_audience_endpoint_forecasts_a_draft(api: Api, services: Services) -> None:
    people = make_population(count=120)
    await store_population(services, people)
    created = await draft(api, grade="red", areas=[CHENJIAGANG], groups=["fisherman"])
    body = await ok(api.get(f"/warnings/{created['id']}/audience", "duty_chief"))
    async with services.store.read() as tx:
        tree = await tx.areas.tree()
        version = (await tx.warnings.get(created["id"])).warning.latest
    expected = expected_plan(people, spec_for(version, services.catalog), tree)
    assert body["people"] == len(expected) > 0
    assert body["by_area"] == {CHENJIAGANG: len(expected)}
    assert body["by_group"]["fisherman"] == len(expected)
    assert body["officers"] == 1  # the test user 'officer' serves 陈家港镇
    assert set(body) >= {
        "people",
        "by_area",
        "by_group",
        "by_channel",
        "officers",
        "terminals",
        "terminal_population",
        "unreachable",
        "unreachable_by_area",
    }
