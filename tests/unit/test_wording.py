"""The words of a version match the version: catalog texts follow its hazard and grade,
and the forecaster's own texts never name another grade (every hazard × grade)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import CHENJIAGANG, NOW, XIANGSHUI_TOWN, actor, draft_body, rules
from warning import commands, texts, wording
from warning.actors import Role
from warning.errors import InvalidInput
from warning.grades import Grade
from warning.model import Kind, State, Warning

RULES = rules()
CHIEF = actor("zhou", Role.DUTY_CHIEF)
LEADER = actor("li", Role.LEADER, "county")
PAIRS = [(hazard.id, grade) for hazard in RULES.catalog.hazards.values() for grade in hazard.grades]


def forecaster_for(hazard_id: str):  # type: ignore[no-untyped-def]
    return actor("fang", Role.FORECASTER, RULES.catalog.hazard(hazard_id).org)


def catalog_form(hazard_id: str, grade: Grade, kind: Kind = Kind.ALERT) -> dict[str, object]:
    """The texts a form loaded for `grade` shows, posted as they stand."""
    return {
        name: {
            locale: texts.catalog_text(name, hazard_id, grade, kind, RULES, locale)
            for locale in ("zh-CN", "en")
        }
        for name in ("headline", "description", "instruction")
    }


def drafted(hazard_id: str, grade: Grade, **body: object) -> Warning:
    raw = draft_body(hazard=hazard_id, grade=grade.value, areas=[CHENJIAGANG], **body)
    warning, _ = commands.draft(raw, forecaster_for(hazard_id), RULES, NOW)
    warning.id = 1
    return warning


def other(grade: Grade) -> Grade:
    return Grade.BLUE if grade is not Grade.BLUE else Grade.RED


@pytest.mark.parametrize(("hazard_id", "grade"), PAIRS, ids=[f"{h}-{g.value}" for h, g in PAIRS])
def test_a_form_loaded_for_another_grade_stores_the_catalog_text_of_this_one(
    hazard_id: str, grade: Grade
) -> None:
    loaded = other(grade) if other(grade) in RULES.catalog.hazard(hazard_id).grades else grade
    warning = drafted(hazard_id, grade, **catalog_form(hazard_id, loaded))
    version = warning.latest
    assert (version.headline, version.description, version.instruction) == ({}, {}, {})
    for locale in ("zh-CN", "en"):
        for name in ("headline", "description", "instruction"):
            expected = texts.catalog_text(name, hazard_id, grade, Kind.ALERT, RULES, locale)
            assert texts.all_texts(version, RULES)[name][locale] == expected
    commands.submit(warning, forecaster_for(hazard_id), RULES, NOW)
    assert version.state is State.SUBMITTED


@pytest.mark.parametrize(("hazard_id", "grade"), PAIRS, ids=[f"{h}-{g.value}" for h, g in PAIRS])
def test_own_text_naming_another_grade_is_refused_at_submit_and_approval(
    hazard_id: str, grade: Grade
) -> None:
    for wrong in Grade:
        if wrong is grade:
            continue
        for name, text in (
            ("description", f"预计出现{wrong.name_zh}预警标准的天气。"),
            ("instruction", f"Act as for a {wrong.name_en} warning."),
        ):
            warning = drafted(hazard_id, grade, **{name: text})
            with pytest.raises(InvalidInput) as refused:
                commands.submit(warning, forecaster_for(hazard_id), RULES, NOW)
            assert refused.value.field == name
            assert warning.latest.state is State.DRAFT
    # Written correctly it is submitted; changed behind the form's back, approval refuses.
    warning = drafted(hazard_id, grade, description=f"本次为{grade.name_zh}预警。")
    commands.submit(warning, forecaster_for(hazard_id), RULES, NOW)
    warning.latest.description = {"zh-CN": f"本次为{other(grade).name_zh}预警。"}
    chief = actor("zhou", Role.DUTY_CHIEF, RULES.catalog.hazard(hazard_id).org)
    with pytest.raises(InvalidInput) as refused:
        commands.approve(warning, chief, RULES, NOW, chinese_only=True)
    assert refused.value.field == "description"
    assert warning.latest.approvals == []


@pytest.mark.parametrize(
    "text",
    ["Ⅳ级预警", "IV级应急响应", "Level IV response", "a BLUE signal", "蓝色预警信号"],
)
def test_levels_and_colours_alike_name_a_grade(text: str) -> None:
    assert wording.grades_named(text) == {Grade.BLUE}


@pytest.mark.parametrize("text", ["Level II", "Ⅱ级", "orange", "黄色", "III级"])
def test_a_red_warning_may_name_only_red(text: str) -> None:
    assert wording.grades_named(text) != {Grade.RED}
    assert wording.grades_named("红色 Red Ⅰ级 Level I") == {Grade.RED}


def issued(hazard_id: str, grade: Grade) -> Warning:
    warning = drafted(hazard_id, grade)
    commands.submit(warning, forecaster_for(hazard_id), RULES, NOW)
    for approver in (CHIEF, LEADER)[: 1 if grade.rank <= Grade.YELLOW.rank else 2]:
        commands.approve(warning, approver, RULES, NOW)
    commands.issue(warning, forecaster_for(hazard_id), RULES, NOW, 1)
    return warning


def test_an_escalation_may_name_the_grade_it_replaces_beside_its_own() -> None:
    later = NOW + timedelta(hours=1)
    warning = issued("rainstorm", Grade.YELLOW)
    me = forecaster_for("rainstorm")
    commands.revise(
        warning, "escalate", {"grade": "red", "description": "由黄色升级为红色。"}, me, RULES, later
    )
    commands.submit(warning, me, RULES, later)  # names yellow beside red: accepted
    warning = issued("rainstorm", Grade.YELLOW)
    commands.revise(
        warning, "escalate", {"grade": "red", "description": "仍按黄色预警防御。"}, me, RULES, later
    )
    with pytest.raises(InvalidInput):
        commands.submit(warning, me, RULES, later)


def test_chinese_only_texts_say_translation_pending_and_need_the_approvers_word() -> None:
    warning = drafted("rainstorm", Grade.BLUE, description="6小时降雨量将达80毫米。")
    version = warning.latest
    assert texts.description(version, RULES, "en") == texts.PENDING + "6小时降雨量将达80毫米。"
    assert wording.translation_pending(version) == ("description",)
    commands.submit(warning, forecaster_for("rainstorm"), RULES, NOW)
    with pytest.raises(InvalidInput) as refused:
        commands.approve(warning, CHIEF, RULES, NOW)
    assert refused.value.field == "chinese_only"
    commands.approve(warning, CHIEF, RULES, NOW, chinese_only=True)
    assert version.approvals[0].chinese_only and version.state is State.APPROVED


def test_a_cancel_takes_its_areas_in_any_order() -> None:
    warning = issued("rainstorm", Grade.BLUE)
    warning.latest.areas = (CHENJIAGANG, XIANGSHUI_TOWN)
    me = forecaster_for("rainstorm")
    later = NOW + timedelta(hours=1)
    commands.revise(warning, "cancel", {}, me, RULES, later)
    commands.edit(warning, {"areas": [XIANGSHUI_TOWN, CHENJIAGANG]}, me, RULES, later)
    with pytest.raises(InvalidInput) as refused:
        commands.edit(warning, {"areas": [XIANGSHUI_TOWN]}, me, RULES, later)
    assert refused.value.field == "areas"
