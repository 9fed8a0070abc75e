"""The workflow commands: each checks permission, state and content, then changes the warning.

Commands mutate the `Warning` they are given and return the events that happened.
The caller loads the warning, calls one command and saves the result in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from warning import content as content_mod
from warning import wording
from warning.actors import Actor
from warning.content import Content
from warning.errors import InvalidInput, InvalidTransition, PermissionDenied
from warning.events import (
    Event,
    ReleaseFailed,
    ReleaseScheduled,
    WarningApproved,
    WarningCancelled,
    WarningDrafted,
    WarningEdited,
    WarningExpired,
    WarningIssued,
    WarningRedrafted,
    WarningRejected,
    WarningSubmitted,
    WarningSuperseded,
)
from warning.identifiers import cap_identifier, cap_reference
from warning.model import Approval, Kind, Rejection, State, Version, Warning
from warning.permissions import require
from warning.rules import Rules
from warning.workflow import Action, transition


def _require(actor: Actor, action: Action, subject: Content | Version, rules: Rules) -> None:
    require(
        actor,
        action,
        hazard=subject.hazard,
        grade=subject.grade,
        areas=subject.areas,
        rules=rules,
        cancel=isinstance(subject, Version) and subject.is_cancel,
    )


def require_latest(warning: Warning, number: int | None) -> Version:
    """The latest version; if the caller named another one, the action is refused."""
    latest = warning.latest
    if number is not None and number != latest.number:
        warning.version(number)  # 404 for a version that does not exist
        raise InvalidTransition(
            f"version {number} is not the latest (version {latest.number} is); "
            "actions apply to the latest version"
        )
    return latest


def _new_version(number: int, kind: Kind, content: Content, actor: Actor, now: datetime) -> Version:
    return Version(
        number=number,
        kind=kind,
        state=State.DRAFT,
        author=actor.username,
        created_at=now,
        **{name: getattr(content, name) for name in content_mod.FIELD_NAMES},
    )


def draft(
    raw: Mapping[str, Any], actor: Actor, rules: Rules, now: datetime
) -> tuple[Warning, list[Event]]:
    """A new warning whose version 1 is a draft."""
    content = wording.follow_catalog(content_mod.parse(raw), rules)
    content_mod.check(content, rules, now)
    _require(actor, Action.DRAFT, content, rules)
    version = _new_version(1, Kind.ALERT, content, actor, now)
    return Warning(id=None, versions=[version]), [WarningDrafted(1, Kind.ALERT)]


def edit(
    warning: Warning, raw: Mapping[str, Any], actor: Actor, rules: Rules, now: datetime
) -> list[Event]:
    """Change fields of the latest version while it is a draft."""
    version = warning.latest
    _require(actor, Action.EDIT, version, rules)
    transition(version.state, Action.EDIT)
    changed = wording.follow_catalog(content_mod.parse(raw, base=Content.of(version)), rules)
    _check_revision_rules(warning, version.kind, changed)
    content_mod.check(changed, rules, now)
    _require(actor, Action.EDIT, changed, rules)
    for name in {*raw, *content_mod.TEXT_FIELDS}:
        setattr(version, name, getattr(changed, name))
    if not version.wrote(actor.username):
        version.editors = (*version.editors, actor.username)
    return [WarningEdited(version.number, tuple(sorted(raw)))]


def submit(warning: Warning, actor: Actor, rules: Rules, now: datetime) -> list[Event]:
    """Send the draft for approval; its content is checked again against the clock."""
    version = warning.latest
    _require(actor, Action.SUBMIT, version, rules)
    new_state = transition(version.state, Action.SUBMIT)
    content_mod.check(Content.of(version), rules, now)
    check_words(warning, version, rules)
    version.state = new_state
    version.submitted_at = now
    version.rejection = None  # shown while the redraft is edited; a new round starts here
    return [WarningSubmitted(version.number, version.round)]


def _replaced(warning: Warning, version: Version) -> Version | None:
    return warning.versions[version.number - 2] if version.number > 1 else None


def check_words(warning: Warning, version: Version, rules: Rules) -> None:
    """Catalog texts resolved again for the current hazard and grade; own texts checked
    (submit and approval refuse what this refuses; the draft preview shows it)."""
    wording.refollow(version, rules)
    wording.check_grade_words(version, _replaced(warning, version))


def _check_rendering(version: Version, rendering: str | None) -> None:
    """Refuse when the messages differ from those an approver of this round approved."""
    if rendering is None:
        return
    for approval in version.approvals:
        if approval.rendering is not None and approval.rendering != rendering:
            raise InvalidTransition(
                f"the messages that would go out have changed since approval {approval.step}"
                f" ({approval.role.value} {approval.by}) was given, e.g. because the hazard"
                " catalog or the templates changed: reject the version and approve it again"
            )


def approve(
    warning: Warning,
    actor: Actor,
    rules: Rules,
    now: datetime,
    *,
    rendering: str | None = None,
    chinese_only: bool = False,
) -> list[Event]:
    """Give the next approval the policy asks for; the last one makes the version approved.

    `rendering` is the digest of the messages the approver saw (the caller renders them);
    where the English is still pending, the approver must confirm `chinese_only`.
    """
    version = warning.latest
    if version.wrote(actor.username):
        raise PermissionDenied("nobody approves their own draft", rule="own_draft")
    _require(actor, Action.APPROVE, version, rules)
    final_state = transition(version.state, Action.APPROVE)
    if any(a.by == actor.username for a in version.approvals):
        raise PermissionDenied(
            "you have already approved this version; another person must give the next approval",
            rule="same_approver",
        )
    steps = rules.policy.approval_steps(version.grade, cancel=version.is_cancel)
    step = len(version.approvals) + 1
    if step > len(steps):  # cannot happen while the table holds; guard the invariant anyway
        raise InvalidTransition("this version has all the approvals it needs")
    needed = steps[step - 1]
    if actor.role is not needed:
        raise PermissionDenied(
            f"approval {step} of {len(steps)} must come from a {needed.value}",
            rule="approval_order",
        )
    check_words(warning, version, rules)
    pending = wording.translation_pending(version)
    if pending and not chinese_only:
        raise InvalidInput(
            f"the {' and '.join(pending)} {'is' if len(pending) == 1 else 'are'} written in"
            " Chinese only, so the English messages say 'translation pending': ask the"
            " drafter for the English text (reject), or confirm 'send Chinese only'",
            field="chinese_only",
        )
    _check_rendering(version, rendering)
    version.approvals.append(
        Approval(
            step=step,
            role=actor.role,
            by=actor.username,
            at=now,
            rendering=rendering,
            chinese_only=bool(pending) and chinese_only,
        )
    )
    final = step == len(steps)
    if final:
        version.state = final_state
        version.approved_at = now
    return [WarningApproved(version.number, step, actor.role.value, final)]


def reject(warning: Warning, reason: str, actor: Actor, rules: Rules, now: datetime) -> list[Event]:
    """Send the version back with a reason; it returns to draft through `redraft`."""
    version = warning.latest
    if version.wrote(actor.username):
        raise PermissionDenied("nobody decides on their own draft", rule="own_draft")
    _require(actor, Action.REJECT, version, rules)
    new_state = transition(version.state, Action.REJECT)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a rejection needs a reason", field="reason")
    version.state = new_state
    version.rejection = Rejection(by=actor.username, reason=reason.strip(), at=now)
    version.approved_at = None
    return [WarningRejected(version.number, reason.strip())]


def redraft(warning: Warning, actor: Actor, rules: Rules, now: datetime) -> list[Event]:
    """Reopen a rejected version as a draft; a new approval round starts."""
    version = warning.latest
    _require(actor, Action.REDRAFT, version, rules)
    version.state = transition(version.state, Action.REDRAFT)
    version.round += 1
    version.approvals = []
    return [WarningRedrafted(version.number)]


def issue(
    warning: Warning,
    actor: Actor,
    rules: Rules,
    now: datetime,
    sequence: int,
    *,
    rendering: str | None = None,
) -> list[Event]:
    """Publish the approved version; the one it replaces becomes superseded or cancelled.

    With `rendering` (the digest of the messages now), refused if they changed since the
    approvals were given.
    """
    version = warning.latest
    _require(actor, Action.ISSUE, version, rules)
    transition(version.state, Action.ISSUE)
    _check_rendering(version, rendering)
    return _publish(warning, actor.username, rules, now, sequence)


def schedule_release(warning: Warning, actor: Actor, rules: Rules, now: datetime) -> list[Event]:
    """Approve the latest version for release at its onset (by whoever may issue it)."""
    version = warning.latest
    _require(actor, Action.ISSUE, version, rules)
    transition(version.state, Action.ISSUE)
    if version.onset <= now:
        raise InvalidInput("the onset has passed: issue the warning now", field="onset")
    version.release_at = version.onset
    version.release_by = actor.username
    return [ReleaseScheduled(version.number, version.onset.isoformat())]


def release_due(
    warning: Warning, rules: Rules, now: datetime, sequence: int, *, rendering: str | None = None
) -> list[Event]:
    """Issue a version scheduled for release once its time has come, in the name of the
    person who scheduled it; if it can no longer be issued (or its messages changed since
    they were approved), the schedule is dropped."""
    version = warning.latest
    if version.state is not State.APPROVED or version.release_at is None:
        return []
    if version.release_at > now:
        return []
    assert version.release_by is not None
    try:
        _check_rendering(version, rendering)
        return _publish(warning, version.release_by, rules, now, sequence)
    except InvalidTransition as e:
        version.release_at = None
        return [ReleaseFailed(version.number, str(e))]


def _publish(
    warning: Warning, issued_by: str, rules: Rules, now: datetime, sequence: int
) -> list[Event]:
    version = warning.latest
    new_state = transition(version.state, Action.ISSUE)
    if version.expires <= now:
        raise InvalidTransition(
            "this version expired before it was issued; reject it and redraft with a new expiry"
        )
    events: list[Event] = []
    if version.number > 1:
        previous = warning.versions[-2]
        ending = Action.CANCEL if version.is_cancel else Action.SUPERSEDE
        try:
            previous.state = transition(previous.state, ending)
        except InvalidTransition:
            raise InvalidTransition(
                f"version {previous.number} is {previous.state.value}, no longer in force;"
                " draft a new warning instead"
            ) from None
        previous.ended_at = now
        assert previous.cap_identifier is not None and previous.issued_at is not None
        sender = rules.catalog.organisation(rules.catalog.hazard(previous.hazard).org).sender
        version.references = cap_reference(
            sender, previous.cap_identifier, previous.issued_at, rules.tz
        )
        ended = WarningCancelled if version.is_cancel else WarningSuperseded
        events.append(ended(previous.number, version.number))
    org = rules.catalog.organisation(rules.catalog.hazard(version.hazard).org)
    version.state = new_state
    version.issued_at = now
    version.issued_by = issued_by
    version.release_at = None
    version.cap_identifier = cap_identifier(
        rules.issuer_area, org.cap_code, now, rules.tz, sequence
    )
    events.append(
        WarningIssued(version.number, version.kind, version.grade, version.cap_identifier)
    )
    return events


def _check_revision_rules(warning: Warning, kind: Kind, changed: Content) -> None:
    """What each kind of revision may change, compared with the version it replaces."""
    if kind is Kind.ALERT:
        return
    base = warning.live_version() or warning.versions[-2]
    if changed.hazard != base.hazard:
        raise InvalidInput(
            "a revision cannot change the hazard; draft a new warning", field="hazard"
        )
    if changed.mode is not base.mode:
        raise InvalidInput("a revision cannot change the mode", field="mode")
    if kind is Kind.UPDATE and changed.grade is not base.grade:
        raise InvalidInput("an update keeps the grade; use escalate or downgrade", field="grade")
    if kind is Kind.ESCALATE and changed.grade.rank <= base.grade.rank:
        raise InvalidInput(f"escalate needs a grade above {base.grade.value}", field="grade")
    if kind is Kind.DOWNGRADE and changed.grade.rank >= base.grade.rank:
        raise InvalidInput(f"downgrade needs a grade below {base.grade.value}", field="grade")
    if kind is Kind.CANCEL:
        frozen = [
            n
            for n in ("grade", "areas", "groups", "onset", "expires")
            if _compared(getattr(changed, n)) != _compared(getattr(base, n))
        ]
        if frozen:
            raise InvalidInput("a cancel changes only its text", field=frozen[0])


def _compared(value: Any) -> Any:
    """Area and group lists compare as sets: a form may post them in another order."""
    return frozenset(value) if isinstance(value, tuple) else value


# Text that follows the grade is regenerated from the catalog unless given anew.
_RESET_ON = {
    Kind.ESCALATE: ("headline", "instruction"),
    Kind.DOWNGRADE: ("headline", "instruction"),
    Kind.CANCEL: ("headline", "description", "instruction"),
}


def revise(
    warning: Warning,
    kind: str,
    raw: Mapping[str, Any],
    actor: Actor,
    rules: Rules,
    now: datetime,
) -> list[Event]:
    """Draft a new version (update, escalate, downgrade or cancel) of the issued warning."""
    try:
        revision = Kind(kind)
    except ValueError:
        revision = Kind.ALERT
    if revision is Kind.ALERT:
        raise InvalidInput(
            "action must be one of update, escalate, downgrade, cancel", field="action"
        )
    live = warning.latest
    _require(actor, Action.REVISE, live, rules)
    transition(live.state, Action.REVISE)
    if live.is_cancel:
        raise InvalidTransition("this warning has been cancelled; draft a new warning")
    if revision in (Kind.ESCALATE, Kind.DOWNGRADE) and "grade" not in raw:
        raise InvalidInput(f"{revision.value} needs the new grade", field="grade")
    reset: dict[str, Any] = {name: {} for name in _RESET_ON.get(revision, ())}
    base = replace(Content.of(live), **reset)
    changed = wording.follow_catalog(content_mod.parse(raw, base=base), rules)
    _check_revision_rules(warning, revision, changed)
    content_mod.check(changed, rules, now)
    _require(actor, Action.REVISE, changed, rules)
    version = _new_version(len(warning.versions) + 1, revision, changed, actor, now)
    warning.versions.append(version)
    return [WarningDrafted(version.number, revision)]


def expire(warning: Warning, now: datetime) -> list[Event]:
    """Mark issued versions whose expiry time has passed as expired."""
    events: list[Event] = []
    for version in warning.versions:
        if version.state is State.ISSUED and version.expires <= now:
            version.state = transition(version.state, Action.EXPIRE)
            version.ended_at = now
            events.append(WarningExpired(version.number))
    return events
