"""Who may see and change residents: the role matrix, area scope, and whole numbers."""

from __future__ import annotations

import itertools

import pytest

from subscribers.access import EDIT, IMPORT, VIEW, require, require_areas, sees_whole_numbers
from tests.support import CHENJIAGANG, CHENJIAGANG_VILLAGE, COUNTY, XIANGSHUI_TOWN, actor, area_tree
from warning.actors import Role
from warning.errors import PermissionDenied

TREE = area_tree()
XIANGSHUI_VILLAGE = "320921100001"  # 东园居委会, in 响水镇
CHENJIAGANG_VILLAGE_2 = "320921101002"  # 大湾居委会, in 陈家港镇

# The oracle, in plain words: what each role may do with residents.
MAY = {
    Role.ADMIN: {"view", "edit", "import"},
    Role.DUTY_CHIEF: {"view"},
    Role.LEADER: {"view"},
    Role.INFO_OFFICER: {"view", "edit"},
    Role.FORECASTER: set(),
}
PERMISSIONS = {"view": VIEW, "edit": EDIT, "import": IMPORT}


def test_oracle_covers_every_role() -> None:
    assert set(MAY) == set(Role)


@pytest.mark.parametrize(
    ("role", "what"),
    list(itertools.product(Role, PERMISSIONS)),
    ids=lambda v: str(v),
)
def test_role_matrix(role: Role, what: str) -> None:
    who = actor("someone", role)
    if what in MAY[role]:
        require(who, PERMISSIONS[what], f"{what} residents")  # allowed: returns quietly
    else:
        with pytest.raises(PermissionDenied) as refused:
            require(who, PERMISSIONS[what], f"{what} residents")
        assert refused.value.rule == "role"
        assert refused.value.message.startswith(f"a {role.value} may not {what} residents")


def test_refusal_names_the_allowed_roles() -> None:
    with pytest.raises(PermissionDenied) as refused:
        require(actor("li", Role.LEADER), EDIT, "edit residents")
    assert refused.value.message == "a leader may not edit residents (allowed: admin, info_officer)"


TOWN_OFFICER = actor("wang", Role.INFO_OFFICER, "county", CHENJIAGANG)


@pytest.mark.parametrize(
    "codes",
    [
        [CHENJIAGANG_VILLAGE],
        [CHENJIAGANG_VILLAGE, CHENJIAGANG_VILLAGE_2],
        [CHENJIAGANG],
        [],
    ],
    ids=["own-village", "two-own-villages", "own-town", "nothing"],
)
def test_officer_may_touch_areas_in_their_town(codes: list[str]) -> None:
    require_areas(TOWN_OFFICER, codes, TREE)  # allowed: returns quietly


@pytest.mark.parametrize(
    ("codes", "outside"),
    [
        ([XIANGSHUI_VILLAGE], XIANGSHUI_VILLAGE),
        ([CHENJIAGANG_VILLAGE, XIANGSHUI_VILLAGE], XIANGSHUI_VILLAGE),
        ([XIANGSHUI_TOWN], XIANGSHUI_TOWN),
        ([COUNTY], COUNTY),
        (["320921999999"], "320921999999"),
    ],
    ids=["other-town-village", "one-of-two-outside", "other-town", "whole-county", "unknown"],
)
def test_officer_may_not_touch_areas_outside_their_town(codes: list[str], outside: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        require_areas(TOWN_OFFICER, codes, TREE)
    assert refused.value.rule == "area_scope"
    assert refused.value.message == f"areas outside your scope: {outside}"


def test_county_scope_covers_every_area() -> None:
    require_areas(actor("root", Role.ADMIN, "county", COUNTY), TREE.codes(), TREE)


@pytest.mark.parametrize(
    ("role", "whole"),
    [(role, role is Role.ADMIN) for role in Role],
    ids=lambda v: str(v),
)
def test_only_admin_sees_whole_numbers(role: Role, whole: bool) -> None:
    assert sees_whole_numbers(actor("someone", role)) is whole
