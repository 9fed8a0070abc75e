"""The release workflow as an explicit transition table {(state, action): new state}."""

from __future__ import annotations

from enum import StrEnum

from warning.errors import InvalidTransition
from warning.model import State


class Action(StrEnum):
    DRAFT = "draft"  # creating a warning: no prior state, so absent from the table
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    REDRAFT = "redraft"
    ISSUE = "issue"
    REVISE = "revise"
    SUPERSEDE = "supersede"
    CANCEL = "cancel"
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.DRAFT, Action.EDIT): State.DRAFT,
    (State.DRAFT, Action.SUBMIT): State.SUBMITTED,
    # Reached when the last approval the policy asks for is given; until then the
    # version stays `submitted` with the approvals collected so far.
    (State.SUBMITTED, Action.APPROVE): State.APPROVED,
    (State.SUBMITTED, Action.REJECT): State.REJECTED,
    # An approver may still stop an approved version before it goes out.
    (State.APPROVED, Action.REJECT): State.REJECTED,
    (State.REJECTED, Action.REDRAFT): State.DRAFT,
    (State.APPROVED, Action.ISSUE): State.ISSUED,
    # Revising drafts a new version; this one stays in force until that one is issued.
    (State.ISSUED, Action.REVISE): State.ISSUED,
    (State.ISSUED, Action.SUPERSEDE): State.SUPERSEDED,
    (State.ISSUED, Action.CANCEL): State.CANCELLED,
    (State.ISSUED, Action.EXPIRE): State.EXPIRED,
}


def transition(state: State, action: Action) -> State:
    """The state after `action`, or InvalidTransition if the table does not allow it."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is state)
        hint = f"; a {state.value} version allows: {', '.join(allowed)}" if allowed else ""
        raise InvalidTransition(
            f"cannot {action.value} a version that is {state.value}{hint}"
        ) from None
