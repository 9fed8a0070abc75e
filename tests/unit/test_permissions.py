"""The permission matrix: role × organisation × area scope × grade × action."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.support import CHENJIAGANG, CHENJIAGANG_VILLAGE, XIANGSHUI_TOWN, actor, rules
from warning.actors import Role
from warning.errors import PermissionDenied
from warning.grades import Grade
from warning.permissions import require
from warning.workflow import Action

RULES = rules()

ORGS = ("weather", "water", "ocean", "county")
AREAS = {"in": CHENJIAGANG_VILLAGE, "out": XIANGSHUI_TOWN}
ACTIONS = (Action.DRAFT, Action.APPROVE, Action.ISSUE, Action.REJECT)


# --- The oracle: the policy restated in plain words (config/policy.toml, DESIGN §3). ---

DRAFT_ROLES = {Role.FORECASTER, Role.DUTY_CHIEF}
ISSUE_ROLES = {Role.FORECASTER, Role.DUTY_CHIEF, Role.LEADER}
DECIDE_ROLES = {
    Grade.BLUE: {Role.DUTY_CHIEF},
    Grade.YELLOW: {Role.DUTY_CHIEF},
    Grade.ORANGE: {Role.DUTY_CHIEF, Role.LEADER},
    Grade.RED: {Role.DUTY_CHIEF, Role.LEADER},
}
TYPHOON_ORG = "weather"


def expected_refusal(role: Role, org: str, area: str, grade: Grade, action: Action) -> str | None:
    """The rule that refuses a typhoon `action`, or None when it is allowed."""
    if action is Action.DRAFT:
        roles = DRAFT_ROLES
    elif action is Action.ISSUE:
        roles = ISSUE_ROLES
    else:  # approve and reject
        roles = DECIDE_ROLES[grade]
    if role in (Role.ADMIN, Role.INFO_OFFICER) or role not in roles:
        return "role"
    if org not in (TYPHOON_ORG, "county"):
        return "organisation"
    if area == "out":
        return "area_scope"
    return None


MATRIX = list(itertools.product(Role, ORGS, AREAS, Grade, ACTIONS))


def _id(case: tuple[Role, str, str, Grade, Action]) -> str:
    role, org, area, grade, action = case
    outcome = expected_refusal(*case) or "allowed"
    return f"{role.value}-{org}-{area}-{grade.value}-{action.value}->{outcome}"


def test_oracle_allows_and_refuses_something() -> None:
    outcomes = {expected_refusal(*case) for case in MATRIX}
    assert outcomes == {None, "role", "organisation", "area_scope"}


@pytest.mark.parametrize("case", MATRIX, ids=_id)
def test_permission_matrix(case: tuple[Role, str, str, Grade, Action]) -> None:
    role, org, area, grade, action = case
    who = actor("someone", role, org, CHENJIAGANG)

    def attempt() -> None:
        require(who, action, hazard="typhoon", grade=grade, areas=[AREAS[area]], rules=RULES)

    rule = expected_refusal(*case)
    if rule is None:
        attempt()  # allowed: require() returns without raising
    else:
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.rule == rule


def test_one_area_out_of_scope_refuses_the_whole_warning() -> None:
    who = actor("f", Role.FORECASTER, "weather", CHENJIAGANG)
    with pytest.raises(PermissionDenied) as refused:
        require(
            who,
            Action.DRAFT,
            hazard="typhoon",
            grade=Grade.BLUE,
            areas=[CHENJIAGANG_VILLAGE, XIANGSHUI_TOWN],
            rules=RULES,
        )
    assert refused.value.rule == "area_scope"
    assert XIANGSHUI_TOWN in refused.value.message
    assert CHENJIAGANG_VILLAGE not in refused.value.message


@pytest.mark.parametrize("role", [Role.ADMIN, Role.INFO_OFFICER], ids=lambda r: r.value)
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.value)
def test_admin_and_info_officer_are_refused_even_if_a_policy_names_them(
    role: Role, action: Action
) -> None:
    # build_policy refuses such a file; a Policy built by hand shows require() holds the line too.
    everyone = frozenset(Role)
    lax = dataclasses.replace(
        RULES.policy,
        approvals={grade: tuple(Role) for grade in Grade},
        draft_roles=everyone,
        issue_roles=everyone,
    )
    lax_rules = dataclasses.replace(RULES, policy=lax)
    who = actor("root", role, "county")
    with pytest.raises(PermissionDenied) as refused:
        require(
            who, action, hazard="typhoon", grade=Grade.RED, areas=[CHENJIAGANG], rules=lax_rules
        )
    assert refused.value.rule == "role"


# --- An all-clear (cancel) needs a duty chief, whatever the grade. ---


@pytest.mark.parametrize("grade", list(Grade), ids=lambda g: g.value)
@pytest.mark.parametrize("action", [Action.APPROVE, Action.REJECT], ids=lambda a: a.value)
def test_cancel_decisions_need_a_duty_chief(grade: Grade, action: Action) -> None:
    chief = actor("dc", Role.DUTY_CHIEF, "weather")
    require(
        chief, action, hazard="typhoon", grade=grade, areas=[CHENJIAGANG], rules=RULES, cancel=True
    )


@pytest.mark.parametrize("grade", list(Grade), ids=lambda g: g.value)
def test_cancel_approval_refuses_a_leader(grade: Grade) -> None:
    leader = actor("boss", Role.LEADER, "county")
    with pytest.raises(PermissionDenied) as refused:
        require(
            leader,
            Action.APPROVE,
            hazard="typhoon",
            grade=grade,
            areas=[CHENJIAGANG],
            rules=RULES,
            cancel=True,
        )
    assert refused.value.rule == "role"


# --- Each hazard belongs to one organisation. ---

ORG_HAZARD_CASES = [
    pytest.param("water", "flood", None, id="water-drafts-flood"),
    pytest.param("water", "typhoon", "organisation", id="water-not-typhoon"),
    pytest.param("ocean", "storm_surge", None, id="ocean-drafts-storm_surge"),
    pytest.param("ocean", "flood", "organisation", id="ocean-not-flood"),
    pytest.param("weather", "storm_surge", "organisation", id="weather-not-storm_surge"),
    pytest.param("weather", "rainstorm", None, id="weather-drafts-rainstorm"),
    pytest.param("county", "storm_surge", None, id="county-drafts-storm_surge"),
    pytest.param("county", "flood", None, id="county-drafts-flood"),
    pytest.param("police", "typhoon", "organisation", id="unknown-org-refused"),
]


@pytest.mark.parametrize(("org", "hazard", "rule"), ORG_HAZARD_CASES)
def test_forecaster_drafts_only_their_organisations_hazards(
    org: str, hazard: str, rule: str | None
) -> None:
    forecaster = actor("f", Role.FORECASTER, org)

    def attempt() -> None:
        require(
            forecaster,
            Action.DRAFT,
            hazard=hazard,
            grade=Grade.BLUE,
            areas=[CHENJIAGANG],
            rules=RULES,
        )

    if rule is None:
        attempt()
    else:
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.rule == rule
