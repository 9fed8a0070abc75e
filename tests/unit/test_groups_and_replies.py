"""Population groups from the shipped catalog, SMS replies, and a version's audience spec."""

from __future__ import annotations

from typing import Any

import pytest

from subscribers.replies import Reply, classify
from subscribers.segmentation import AudienceSpec, spec_for
from tests.support import CHENJIAGANG, NOW, XIANGSHUI_TOWN, actor, draft_body, rules
from warning import commands
from warning.actors import Role
from warning.catalog import GroupInstruction
from warning.grades import Grade
from warning.model import Mode, Version

RULES = rules()
CATALOG = RULES.catalog
FORECASTER = actor("fang", Role.FORECASTER)

# Key phrases of the fisherman instructions in config/groups.toml.
RETURN_NOW = {
    "zh-CN": "在海上作业的渔船立即回港避风",
    "en": "Fishing boats at sea: return to harbour now.",
}
PREPARE = {"zh-CN": "做好回港避风准备", "en": "prepare to return to harbour"}


# --- groups ----------------------------------------------------------------------------------


def test_the_shipped_groups() -> None:
    assert list(CATALOG.groups) == [
        "elderly",
        "school",
        "fisherman",
        "chemical_park",
        "disabled",
        "hearing_impaired",
        "tourist",
        "non_chinese_speaker",
    ]
    assert CATALOG.groups["hearing_impaired"].within == "disabled"


@pytest.mark.parametrize(
    ("targets", "members"),
    [
        (["disabled"], {"disabled", "hearing_impaired"}),
        (["hearing_impaired"], {"hearing_impaired"}),
        (["fisherman"], {"fisherman"}),
        (["fisherman", "disabled"], {"fisherman", "disabled", "hearing_impaired"}),
        ([], set()),
    ],
    ids=["disabled-reaches-hearing-impaired", "inner-only", "fisherman", "two", "none"],
)
def test_members_of(targets: list[str], members: set[str]) -> None:
    assert CATALOG.members_of(targets) == frozenset(members)


def test_no_voice_only_groups() -> None:
    assert CATALOG.no_voice_only_groups() == frozenset({"hearing_impaired"})


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize(
    ("grade", "wanted", "unwanted"),
    [
        (Grade.RED, RETURN_NOW, PREPARE),
        (Grade.ORANGE, RETURN_NOW, PREPARE),
        (Grade.YELLOW, PREPARE, RETURN_NOW),
        (Grade.BLUE, PREPARE, RETURN_NOW),
    ],
    ids=["red", "orange", "yellow", "blue"],
)
def test_fisherman_typhoon_instruction_depends_on_grade(
    locale: str, grade: Grade, wanted: dict[str, str], unwanted: dict[str, str]
) -> None:
    texts = CATALOG.group_instructions(["fisherman"], "typhoon", grade, locale)
    assert len(texts) == 1
    assert wanted[locale] in texts[0]
    assert unwanted[locale] not in texts[0]


def test_fisherman_has_no_instruction_for_a_rainstorm() -> None:
    assert CATALOG.group_instructions(["fisherman"], "rainstorm", Grade.RED, "en") == []


def test_instructions_follow_catalog_order_not_the_given_order() -> None:
    texts = CATALOG.group_instructions(["fisherman", "elderly"], "typhoon", Grade.RED, "en")
    assert len(texts) == 2
    assert texts[0].startswith("Older people living alone")
    assert texts[1].startswith("Fishing boats at sea: return to harbour now.")


def test_inner_group_does_not_inherit_the_outer_groups_instructions() -> None:
    assert CATALOG.group_instructions(["hearing_impaired"], "typhoon", Grade.RED, "en") == []


@pytest.mark.parametrize("hazard", list(CATALOG.hazards))
def test_a_rule_without_hazards_applies_to_every_hazard(hazard: str) -> None:
    elderly = CATALOG.group_instructions(["elderly"], hazard, Grade.RED, "en")
    assert elderly == [CATALOG.groups["elderly"].instructions[0].text["en"]]
    assert CATALOG.group_instructions(["elderly"], hazard, Grade.YELLOW, "en") == []
    for grade in Grade:  # neither hazards nor grades: always
        assert CATALOG.group_instructions(["non_chinese_speaker"], hazard, grade, "zh-CN") == [
            "如需紧急帮助，请拨打110（报警）、119（火警）或120（急救）。"
        ]


@pytest.mark.parametrize(
    ("hazards", "grades", "hazard", "grade", "applies"),
    [
        (set(), set(), "typhoon", Grade.BLUE, True),
        (set(), {Grade.RED}, "anything", Grade.RED, True),
        (set(), {Grade.RED}, "anything", Grade.ORANGE, False),
        ({"typhoon"}, set(), "typhoon", Grade.YELLOW, True),
        ({"typhoon"}, set(), "flood", Grade.YELLOW, False),
        ({"typhoon"}, {Grade.RED}, "typhoon", Grade.RED, True),
        ({"typhoon"}, {Grade.RED}, "flood", Grade.RED, False),
    ],
    ids=[
        "empty-empty",
        "no-hazards-grade-in",
        "no-hazards-grade-out",
        "hazard-in-no-grades",
        "hazard-out-no-grades",
        "both-in",
        "hazard-out",
    ],
)
def test_group_instruction_applies(
    hazards: set[str], grades: set[Grade], hazard: str, grade: Grade, applies: bool
) -> None:
    rule = GroupInstruction(frozenset(hazards), frozenset(grades), {"en": "x", "zh-CN": "x"})
    assert rule.applies(hazard, grade) is applies


# --- replies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("TD", Reply.UNSUBSCRIBE),
        ("td", Reply.UNSUBSCRIBE),
        (" STOP ", Reply.UNSUBSCRIBE),
        ("退订", Reply.UNSUBSCRIBE),
        ("unsubscribe", Reply.UNSUBSCRIBE),
        ("TD。", Reply.UNSUBSCRIBE),
        ("1", Reply.ACKNOWLEDGE),
        ("收到", Reply.ACKNOWLEDGE),
        ("收到！", Reply.ACKNOWLEDGE),
        ("ok", Reply.ACKNOWLEDGE),
        ("OK.", Reply.ACKNOWLEDGE),
        ("hello", None),
        ("11", None),
        ("", None),
        ("TD 谢谢", None),
        ("我家被淹了，需要救援", None),
    ],
    ids=[
        "TD",
        "td",
        "STOP-spaced",
        "tuiding",
        "unsubscribe",
        "TD-fullstop",
        "1",
        "shoudao",
        "shoudao-bang",
        "ok",
        "OK-dot",
        "hello",
        "11",
        "empty",
        "TD-and-more",
        "free-text-plea",
    ],
)
def test_classify(text: str, meaning: Reply | None) -> None:
    assert classify(text) is meaning


# --- spec_for -------------------------------------------------------------------------------


def drafted(**overrides: Any) -> Version:
    warning, _ = commands.draft(draft_body(**overrides), FORECASTER, RULES, NOW)
    return warning.latest


@pytest.mark.parametrize(
    ("mode", "test_only"),
    [(Mode.ACTUAL, False), (Mode.EXERCISE, True), (Mode.TEST, True)],
    ids=lambda v: str(v),
)
def test_only_actual_warnings_reach_everyone(mode: Mode, test_only: bool) -> None:
    assert spec_for(drafted(mode=mode.value), CATALOG).test_only is test_only


def test_spec_for_an_actual_red_typhoon() -> None:
    assert spec_for(drafted(), CATALOG) == AudienceSpec(
        areas=(CHENJIAGANG, XIANGSHUI_TOWN),
        groups=frozenset(),
        hazard="typhoon",
        grade=Grade.RED,
        test_only=False,
        no_voice_only_groups=frozenset({"hearing_impaired"}),
    )


@pytest.mark.parametrize(
    ("groups", "members"),
    [
        (["disabled"], {"disabled", "hearing_impaired"}),
        (["fisherman", "tourist"], {"fisherman", "tourist"}),
        ([], set()),
    ],
    ids=["disabled-expands", "two", "none-means-everyone"],
)
def test_spec_for_expands_groups(groups: list[str], members: set[str]) -> None:
    assert spec_for(drafted(groups=groups), CATALOG).groups == frozenset(members)


@pytest.mark.parametrize(
    ("grade", "refusable"),
    [(Grade.BLUE, True), (Grade.YELLOW, True), (Grade.ORANGE, False), (Grade.RED, False)],
    ids=lambda v: str(v),
)
def test_only_blue_and_yellow_can_be_refused(grade: Grade, refusable: bool) -> None:
    spec = spec_for(drafted(grade=grade.value), CATALOG)
    assert spec.grade is grade
    assert spec.refusable is refusable
