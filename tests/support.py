"""Helpers shared by the test tiers: real config data, fixed times, actors."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.data import DIVISIONS_CSV, load_catalog, load_policy, read_divisions
from config.settings import load_settings
from subscribers.areas import parse_divisions
from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.rules import Rules

TZ = ZoneInfo("Asia/Shanghai")
# The tests' "now": a summer morning in typhoon season.
NOW = datetime(2026, 7, 28, 8, 0, tzinfo=TZ)

COUNTY = "320921"
XIANGSHUI_TOWN = "320921100"  # 响水镇
CHENJIAGANG = "320921101"  # 陈家港镇
CHENJIAGANG_VILLAGE = "320921101001"


def area_tree() -> AreaTree:
    areas, errors = parse_divisions(read_divisions(DIVISIONS_CSV), AreaTree([]))
    assert not errors
    return AreaTree(areas)


def rules() -> Rules:
    """The shipped catalog and policy with the real Xiangshui area tree."""
    settings = load_settings()
    return Rules(
        catalog=load_catalog(settings),
        policy=load_policy(settings),
        areas=area_tree(),
        issuer_area="320921",
        tz=TZ,
    )


def actor(username: str, role: Role | str, org: str = "weather", *areas: str) -> Actor:
    return Actor(username=username, role=Role(role), org=org, areas=frozenset(areas or [COUNTY]))


def draft_body(**overrides: object) -> dict[str, object]:
    """A valid draft request for a red typhoon warning on the coast."""
    body: dict[str, object] = {
        "hazard": "typhoon",
        "grade": "red",
        "areas": [CHENJIAGANG, XIANGSHUI_TOWN],
        "onset": (NOW + timedelta(hours=2)).isoformat(),
        "expires": (NOW + timedelta(days=1)).isoformat(),
        "mode": "actual",
    }
    body.update(overrides)
    return body
