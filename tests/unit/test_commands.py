"""The workflow commands driven directly: approvals, rejection, revision, expiry, content."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support import (
    CHENJIAGANG,
    CHENJIAGANG_VILLAGE,
    NOW,
    TZ,
    XIANGSHUI_TOWN,
    actor,
    draft_body,
    rules,
)
from warning import commands, texts
from warning.actors import Actor, Role
from warning.errors import InvalidInput, InvalidTransition, PermissionDenied
from warning.events import (
    WarningApproved,
    WarningCancelled,
    WarningDrafted,
    WarningExpired,
    WarningIssued,
    WarningSubmitted,
    WarningSuperseded,
)
from warning.grades import Grade
from warning.model import Kind, Mode, State, Version, Warning

RULES = rules()

FORECASTER = actor("fang", Role.FORECASTER)
CHIEF = actor("zhou", Role.DUTY_CHIEF)
OTHER_CHIEF = actor("zhao", Role.DUTY_CHIEF)
LEADER = actor("li", Role.LEADER, "county")

LATER = NOW + timedelta(hours=1)  # when a revision is drafted, approved and issued
ISSUER_PREFIX = "32092141600000_"  # Xiangshui (320921) + meteorological office (41600000)


def drafted(grade: str = "blue", by: Actor = FORECASTER, **overrides: Any) -> Warning:
    warning, events = commands.draft(draft_body(grade=grade, **overrides), by, RULES, NOW)
    assert events == [WarningDrafted(1, Kind.ALERT)]
    return warning


def decision_makers(version: Version) -> list[Actor]:
    """Who approves, in order: a duty chief, then a leader for orange and red (not cancels)."""
    if version.is_cancel or version.grade in (Grade.BLUE, Grade.YELLOW):
        return [CHIEF]
    return [CHIEF, LEADER]


def release(warning: Warning, at: datetime = NOW, sequence: int = 1) -> None:
    """Submit, approve and issue the latest version."""
    commands.submit(warning, FORECASTER, RULES, at)
    for approver in decision_makers(warning.latest):
        # Texts written in Chinese only need the approver's "send Chinese only".
        commands.approve(warning, approver, RULES, at, chinese_only=True)
    assert warning.latest.state is State.APPROVED
    commands.issue(warning, FORECASTER, RULES, at, sequence)
    assert warning.latest.state is State.ISSUED


def issued(grade: str = "yellow", **overrides: Any) -> Warning:
    warning = drafted(grade, **overrides)
    release(warning)
    return warning


def refusal(error: pytest.ExceptionInfo[PermissionDenied]) -> str:
    return error.value.rule


# --- Approval and issue ---


@pytest.mark.parametrize("grade", ["blue", "yellow"])
def test_low_grade_needs_one_duty_chief_approval_then_issues(grade: str) -> None:
    warning = drafted(grade)
    assert commands.submit(warning, FORECASTER, RULES, NOW) == [WarningSubmitted(1, 1)]
    assert warning.latest.state is State.SUBMITTED

    events = commands.approve(warning, CHIEF, RULES, NOW)

    version = warning.latest
    assert events == [WarningApproved(1, 1, "duty_chief", True)]
    assert version.state is State.APPROVED
    assert [(a.step, a.role, a.by) for a in version.approvals] == [(1, Role.DUTY_CHIEF, "zhou")]
    assert version.approved_at == NOW

    events = commands.issue(warning, LEADER, RULES, NOW, 42)

    assert version.state is State.ISSUED
    assert version.issued_at == NOW
    assert version.issued_by == "li"
    assert version.cap_identifier == "32092141600000_20260728080000_0042"
    assert version.cap_identifier.startswith(ISSUER_PREFIX)
    assert version.cap_identifier.endswith("_0042")
    assert version.references is None
    assert events == [WarningIssued(1, Kind.ALERT, Grade(grade), version.cap_identifier)]


def test_red_needs_duty_chief_then_leader() -> None:
    warning = drafted("red")
    commands.submit(warning, FORECASTER, RULES, NOW)

    with pytest.raises(PermissionDenied) as leader_first:
        commands.approve(warning, LEADER, RULES, NOW)
    assert refusal(leader_first) == "approval_order"
    assert warning.latest.approvals == []

    first = commands.approve(warning, CHIEF, RULES, NOW)
    assert first == [WarningApproved(1, 1, "duty_chief", False)]
    assert warning.latest.state is State.SUBMITTED

    with pytest.raises(PermissionDenied) as again:
        commands.approve(warning, CHIEF, RULES, NOW)
    assert refusal(again) == "same_approver"

    with pytest.raises(PermissionDenied) as second_chief:
        commands.approve(warning, OTHER_CHIEF, RULES, NOW)
    assert refusal(second_chief) == "approval_order"

    last = commands.approve(warning, LEADER, RULES, LATER)
    version = warning.latest
    assert last == [WarningApproved(1, 2, "leader", True)]
    assert version.state is State.APPROVED
    assert version.approved_at == LATER
    assert [(a.step, a.role, a.by) for a in version.approvals] == [
        (1, Role.DUTY_CHIEF, "zhou"),
        (2, Role.LEADER, "li"),
    ]


def test_author_may_not_approve_own_draft() -> None:
    warning = drafted("red", by=CHIEF)
    commands.submit(warning, CHIEF, RULES, NOW)
    with pytest.raises(PermissionDenied) as own:
        commands.approve(warning, CHIEF, RULES, NOW)
    assert refusal(own) == "own_draft"
    assert warning.latest.approvals == []


def test_editor_may_not_approve_the_draft_they_edited() -> None:
    warning = drafted("red")
    commands.edit(warning, {"headline": "台风红色预警（已核）"}, CHIEF, RULES, NOW)
    assert warning.latest.editors == ("zhou",)
    commands.submit(warning, FORECASTER, RULES, NOW)

    with pytest.raises(PermissionDenied) as own:
        commands.approve(warning, CHIEF, RULES, NOW)
    assert refusal(own) == "own_draft"
    # Another duty chief, who never touched the draft, may.
    commands.approve(warning, OTHER_CHIEF, RULES, NOW)
    assert [a.by for a in warning.latest.approvals] == ["zhao"]


def test_issue_refuses_a_version_that_expired_while_waiting() -> None:
    warning = drafted("blue")
    commands.submit(warning, FORECASTER, RULES, NOW)
    commands.approve(warning, CHIEF, RULES, NOW)
    expires = warning.latest.expires

    for too_late in (expires, expires + timedelta(minutes=1)):
        with pytest.raises(InvalidTransition, match="expired before it was issued"):
            commands.issue(warning, FORECASTER, RULES, too_late, 1)

    assert warning.latest.state is State.APPROVED
    assert warning.latest.cap_identifier is None


# --- Rejection and redraft ---


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_reject_needs_a_reason(reason: str) -> None:
    warning = drafted("blue")
    commands.submit(warning, FORECASTER, RULES, NOW)
    with pytest.raises(InvalidInput) as refused:
        commands.reject(warning, reason, CHIEF, RULES, NOW)
    assert refused.value.field == "reason"
    assert warning.latest.state is State.SUBMITTED
    assert warning.latest.rejection is None


def test_reject_redraft_and_approve_again() -> None:
    warning = drafted("red")
    commands.submit(warning, FORECASTER, RULES, NOW)
    commands.approve(warning, CHIEF, RULES, NOW)
    version = warning.latest

    commands.reject(warning, "  风圈半径有误  ", LEADER, RULES, NOW)
    assert version.state is State.REJECTED
    assert version.rejection is not None
    assert (version.rejection.by, version.rejection.reason) == ("li", "风圈半径有误")

    commands.redraft(warning, FORECASTER, RULES, LATER)
    assert version.state is State.DRAFT
    assert version.round == 2
    assert version.approvals == []
    assert version.rejection is not None  # the reason stays visible while the draft is fixed

    assert commands.submit(warning, FORECASTER, RULES, LATER) == [WarningSubmitted(1, 2)]
    assert version.rejection is None
    commands.approve(warning, CHIEF, RULES, LATER)
    commands.approve(warning, LEADER, RULES, LATER)
    assert version.state is State.APPROVED
    assert [a.by for a in version.approvals] == ["zhou", "li"]


def test_an_approved_version_can_still_be_rejected() -> None:
    warning = drafted("blue")
    commands.submit(warning, FORECASTER, RULES, NOW)
    commands.approve(warning, CHIEF, RULES, NOW)
    commands.reject(warning, "onset is wrong", OTHER_CHIEF, RULES, NOW)
    assert warning.latest.state is State.REJECTED
    assert warning.latest.approved_at is None


# --- Revisions ---

BAD_REVISIONS = [
    pytest.param("update", {"grade": "orange"}, "grade", id="update-changes-grade"),
    pytest.param("escalate", {"grade": "yellow"}, "grade", id="escalate-same-grade"),
    pytest.param("escalate", {"grade": "blue"}, "grade", id="escalate-lower-grade"),
    pytest.param("escalate", {}, "grade", id="escalate-without-grade"),
    pytest.param("downgrade", {"grade": "yellow"}, "grade", id="downgrade-same-grade"),
    pytest.param("downgrade", {"grade": "red"}, "grade", id="downgrade-higher-grade"),
    pytest.param("downgrade", {}, "grade", id="downgrade-without-grade"),
    pytest.param("cancel", {"areas": [CHENJIAGANG]}, "areas", id="cancel-changes-areas"),
    pytest.param("cancel", {"grade": "orange"}, "grade", id="cancel-changes-grade"),
    pytest.param(
        "cancel",
        {"expires": (NOW + timedelta(days=2)).isoformat()},
        "expires",
        id="cancel-changes-expires",
    ),
    pytest.param("update", {"hazard": "rainstorm"}, "hazard", id="update-changes-hazard"),
    pytest.param("update", {"mode": "exercise"}, "mode", id="update-changes-mode"),
    pytest.param("alert", {}, "action", id="alert-is-not-a-revision"),
    pytest.param("bogus", {}, "action", id="unknown-revision"),
]


@pytest.mark.parametrize(("kind", "raw", "field"), BAD_REVISIONS)
def test_revision_rules(kind: str, raw: dict[str, Any], field: str) -> None:
    warning = issued("yellow")
    with pytest.raises(InvalidInput) as refused:
        commands.revise(warning, kind, raw, FORECASTER, RULES, LATER)
    assert refused.value.field == field
    assert len(warning.versions) == 1


GOOD_REVISIONS = [
    pytest.param("update", {"areas": [XIANGSHUI_TOWN]}, Grade.YELLOW, id="update-areas"),
    pytest.param("escalate", {"grade": "orange"}, Grade.ORANGE, id="escalate-to-orange"),
    pytest.param("downgrade", {"grade": "blue"}, Grade.BLUE, id="downgrade-to-blue"),
    pytest.param("cancel", {"description": "台风已登陆减弱"}, Grade.YELLOW, id="cancel-text"),
]


@pytest.mark.parametrize(("kind", "raw", "grade"), GOOD_REVISIONS)
def test_revise_drafts_version_two(kind: str, raw: dict[str, Any], grade: Grade) -> None:
    warning = issued("yellow")
    events = commands.revise(warning, kind, raw, FORECASTER, RULES, LATER)
    assert events == [WarningDrafted(2, Kind(kind))]
    v1, v2 = warning.versions
    assert (v2.number, v2.kind, v2.state, v2.grade) == (2, Kind(kind), State.DRAFT, grade)
    assert v1.state is State.ISSUED  # in force until version 2 is issued


def test_revising_while_a_revision_is_pending_is_refused() -> None:
    warning = issued("yellow")
    commands.revise(warning, "update", {"areas": [XIANGSHUI_TOWN]}, FORECASTER, RULES, LATER)
    with pytest.raises(InvalidTransition):
        commands.revise(warning, "update", {"areas": [CHENJIAGANG]}, FORECASTER, RULES, LATER)
    assert len(warning.versions) == 2


ISSUED_REVISIONS = [
    pytest.param("update", {"areas": [XIANGSHUI_TOWN]}, State.SUPERSEDED, id="update"),
    pytest.param("escalate", {"grade": "red"}, State.SUPERSEDED, id="escalate"),
    pytest.param("downgrade", {"grade": "blue"}, State.SUPERSEDED, id="downgrade"),
    pytest.param("cancel", {}, State.CANCELLED, id="cancel"),
]


@pytest.mark.parametrize(("kind", "raw", "ended"), ISSUED_REVISIONS)
def test_issuing_version_two_ends_version_one(kind: str, raw: dict[str, Any], ended: State) -> None:
    warning = issued("yellow")
    commands.revise(warning, kind, raw, FORECASTER, RULES, LATER)
    v1, v2 = warning.versions
    commands.submit(warning, FORECASTER, RULES, LATER)
    for approver in decision_makers(v2):
        commands.approve(warning, approver, RULES, LATER)

    events = commands.issue(warning, FORECASTER, RULES, LATER, 2)

    assert v1.state is ended
    assert v1.ended_at == LATER
    assert v2.state is State.ISSUED
    assert v1.cap_identifier == "32092141600000_20260728080000_0001"
    assert v2.cap_identifier == "32092141600000_20260728090000_0002"
    assert v2.references == (
        "xiangshui.weather@ewb,32092141600000_20260728080000_0001,2026-07-28T08:00:00+08:00"
    )
    ending = WarningCancelled(1, 2) if ended is State.CANCELLED else WarningSuperseded(1, 2)
    assert events == [ending, WarningIssued(2, Kind(kind), v2.grade, v2.cap_identifier)]


def test_a_cancelled_warning_cannot_be_revised_again() -> None:
    warning = issued("yellow")
    commands.revise(warning, "cancel", {}, FORECASTER, RULES, LATER)
    release(warning, LATER, 2)
    with pytest.raises(InvalidTransition, match="cancelled"):
        commands.revise(warning, "update", {}, FORECASTER, RULES, LATER)


def test_escalate_regenerates_headline_but_keeps_custom_description() -> None:
    warning = issued(
        "yellow",
        headline={"zh-CN": "响水台风黄色预警", "en": "Typhoon yellow for Xiangshui"},
        description={"zh-CN": "台风“海葵”逼近响水沿海。"},
        instruction={"zh-CN": "渔船回港。"},
    )
    commands.revise(warning, "escalate", {"grade": "orange"}, FORECASTER, RULES, LATER)
    v2 = warning.latest

    assert v2.headline == {}
    assert v2.instruction == {}
    assert v2.description == {"zh-CN": "台风“海葵”逼近响水沿海。"}
    assert texts.headline(v2, RULES, "zh-CN") == "响水县气象台将台风预警信号升级为橙色"
    assert texts.headline(v2, RULES, "en") == (
        "Xiangshui County Meteorological Observatory raises the typhoon warning to Orange"
    )
    assert texts.description(v2, RULES, "zh-CN") == "台风“海葵”逼近响水沿海。"
    orange = RULES.catalog.hazard("typhoon").text(Grade.ORANGE)
    assert texts.instruction(v2, RULES, "zh-CN") == orange.guidance["zh-CN"]


def test_update_keeps_custom_headline() -> None:
    warning = issued("yellow", headline={"zh-CN": "响水台风黄色预警"})
    commands.revise(warning, "update", {"areas": [XIANGSHUI_TOWN]}, FORECASTER, RULES, LATER)
    assert warning.latest.headline == {"zh-CN": "响水台风黄色预警"}


# --- A refused command changes nothing ---


def submitted(grade: str) -> Warning:
    warning = drafted(grade)
    commands.submit(warning, FORECASTER, RULES, NOW)
    return warning


def approved(grade: str) -> Warning:
    warning = submitted(grade)
    for approver in decision_makers(warning.latest):
        commands.approve(warning, approver, RULES, NOW)
    return warning


DAY_AFTER_EXPIRY = NOW + timedelta(days=2)
Attempt = Callable[[Warning], object]

REFUSED = [
    pytest.param(
        lambda: drafted("blue"),
        lambda w: commands.submit(w, FORECASTER, RULES, DAY_AFTER_EXPIRY),
        InvalidInput,
        id="submit-after-expiry",
    ),
    pytest.param(
        lambda: drafted("blue"),
        lambda w: commands.edit(w, {"grade": "purple"}, FORECASTER, RULES, NOW),
        InvalidInput,
        id="edit-bad-grade",
    ),
    pytest.param(
        lambda: submitted("blue"),
        lambda w: commands.edit(w, {"headline": "x"}, FORECASTER, RULES, NOW),
        InvalidTransition,
        id="edit-submitted",
    ),
    pytest.param(
        lambda: submitted("red"),
        lambda w: commands.approve(w, LEADER, RULES, NOW),
        PermissionDenied,
        id="approve-out-of-order",
    ),
    pytest.param(
        lambda: submitted("blue"),
        lambda w: commands.reject(w, " ", CHIEF, RULES, NOW),
        InvalidInput,
        id="reject-without-reason",
    ),
    pytest.param(
        lambda: submitted("blue"),
        lambda w: commands.redraft(w, FORECASTER, RULES, NOW),
        InvalidTransition,
        id="redraft-submitted",
    ),
    pytest.param(
        lambda: approved("blue"),
        lambda w: commands.issue(w, FORECASTER, RULES, DAY_AFTER_EXPIRY, 1),
        InvalidTransition,
        id="issue-after-expiry",
    ),
    pytest.param(
        lambda: issued("yellow"),
        lambda w: commands.revise(w, "update", {"grade": "red"}, FORECASTER, RULES, LATER),
        InvalidInput,
        id="revise-update-grade",
    ),
]


@pytest.mark.parametrize(("make", "attempt", "error"), REFUSED)
def test_a_refused_command_leaves_the_warning_unchanged(
    make: Callable[[], Warning], attempt: Attempt, error: type[Exception]
) -> None:
    warning = make()
    before = copy.deepcopy(warning)
    with pytest.raises(error):
        attempt(warning)
    assert [v.state for v in warning.versions] == [v.state for v in before.versions]
    assert warning == before


# --- Expiry ---


def test_expire_ends_an_issued_version_past_its_expiry() -> None:
    warning = issued("yellow")
    expires = warning.latest.expires
    assert commands.expire(warning, expires - timedelta(seconds=1)) == []
    assert warning.latest.state is State.ISSUED

    assert commands.expire(warning, expires) == [WarningExpired(1)]
    assert warning.latest.state is State.EXPIRED
    assert warning.latest.ended_at == expires


def test_expire_leaves_drafts_alone() -> None:
    warning = drafted("yellow")
    later = warning.latest.expires + timedelta(days=1)
    assert commands.expire(warning, later) == []
    assert warning.latest.state is State.DRAFT
    assert warning.latest.ended_at is None


# --- Content checks on draft ---

ONSET = NOW + timedelta(hours=2)

BAD_CONTENT = [
    pytest.param({"hazard": "thunderstorm", "grade": "blue"}, "grade", id="thunderstorm-no-blue"),
    pytest.param({"grade": "purple"}, "grade", id="unknown-grade"),
    pytest.param({"hazard": "earthquake"}, "hazard", id="unknown-hazard"),
    pytest.param({"areas": ["999999"]}, "areas", id="unknown-area"),
    pytest.param({"areas": []}, "areas", id="empty-areas"),
    pytest.param({"groups": ["astronauts"]}, "groups", id="unknown-group"),
    pytest.param(
        {"expires": (ONSET - timedelta(minutes=1)).isoformat()},
        "expires",
        id="expires-before-onset",
    ),
    pytest.param({"expires": ONSET.isoformat()}, "expires", id="expires-at-onset"),
    pytest.param(
        {"expires": (ONSET + timedelta(days=7, seconds=1)).isoformat()},
        "expires",
        id="longer-than-7-days",
    ),
    pytest.param({"onset": "2026-07-28T10:00:00"}, "onset", id="naive-onset"),
    pytest.param({"onset": "tomorrow morning"}, "onset", id="unparseable-onset"),
    pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"mode": "bogus"}, "mode", id="bogus-mode"),
    pytest.param({"headline": "台" * 201}, "headline", id="headline-201-chars"),
    pytest.param({"headline": {"fr": "Alerte"}}, "headline", id="headline-unknown-locale"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_CONTENT)
def test_draft_refuses_bad_content(overrides: dict[str, Any], field: str) -> None:
    body = draft_body(**overrides)
    with pytest.raises(InvalidInput) as refused:
        commands.draft(body, FORECASTER, RULES, NOW)
    assert refused.value.field == field


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"expires": (ONSET + timedelta(days=7)).isoformat()}, id="exactly-7-days"),
        pytest.param({"headline": "台" * 200}, id="headline-200-chars"),
        pytest.param({"groups": ["fisherman", "elderly"]}, id="known-groups"),
        pytest.param({"areas": [CHENJIAGANG_VILLAGE]}, id="village"),
    ],
)
def test_draft_accepts_limits(overrides: dict[str, Any]) -> None:
    warning, _ = commands.draft(draft_body(**overrides), FORECASTER, RULES, NOW)
    assert warning.latest.state is State.DRAFT
    assert warning.latest.author == "fang"


def test_draft_normalises_times_and_defaults() -> None:
    warning, _ = commands.draft(draft_body(grade="orange"), FORECASTER, RULES, NOW)
    version = warning.latest
    assert version.onset == ONSET
    assert version.onset.utcoffset() == TZ.utcoffset(ONSET)
    assert version.mode is Mode.ACTUAL
    assert version.groups == ()
    assert version.areas == (CHENJIAGANG, XIANGSHUI_TOWN)


# --- Exercise and test labelling ---

LABELS = [
    pytest.param("exercise", "zh-CN", "【演练】", id="exercise-zh"),
    pytest.param("exercise", "en", "[EXERCISE]", id="exercise-en"),
    pytest.param("test", "zh-CN", "【测试】", id="test-zh"),
    pytest.param("test", "en", "[TEST]", id="test-en"),
]


@pytest.mark.parametrize("custom", [False, True], ids=["catalog-headline", "custom-headline"])
@pytest.mark.parametrize(("mode", "locale", "label"), LABELS)
def test_non_actual_headlines_are_labelled(
    mode: str, locale: str, label: str, custom: bool
) -> None:
    extra = {"headline": {"zh-CN": "台风来了", "en": "Typhoon coming"}} if custom else {}
    warning = drafted("blue", mode=mode, **extra)
    headline = texts.headline(warning.latest, RULES, locale)
    assert headline.startswith(label)
    assert headline.count(label) == 1
    if custom:
        assert headline.endswith("台风来了" if locale == "zh-CN" else "Typhoon coming")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_actual_headlines_carry_no_label(locale: str) -> None:
    headline = texts.headline(drafted("blue").latest, RULES, locale)
    assert not headline.startswith(("【", "["))
