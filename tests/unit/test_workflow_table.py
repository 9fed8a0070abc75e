"""The release workflow: every (state, action) pair against DESIGN's transition table."""

from __future__ import annotations

import pytest

from warning.errors import InvalidTransition
from warning.model import State
from warning.workflow import Action, transition

# Written out from DESIGN, not copied from warning.workflow: the pairs allowed and where
# they lead. Every pair not listed here must be refused.
EXPECTED: dict[tuple[State, Action], State] = {
    (State.DRAFT, Action.EDIT): State.DRAFT,
    (State.DRAFT, Action.SUBMIT): State.SUBMITTED,
    (State.SUBMITTED, Action.APPROVE): State.APPROVED,
    (State.SUBMITTED, Action.REJECT): State.REJECTED,
    (State.APPROVED, Action.REJECT): State.REJECTED,
    (State.REJECTED, Action.REDRAFT): State.DRAFT,
    (State.APPROVED, Action.ISSUE): State.ISSUED,
    (State.ISSUED, Action.REVISE): State.ISSUED,
    (State.ISSUED, Action.SUPERSEDE): State.SUPERSEDED,
    (State.ISSUED, Action.CANCEL): State.CANCELLED,
    (State.ISSUED, Action.EXPIRE): State.EXPIRED,
}

ALL_PAIRS = [(state, action) for state in State for action in Action]


def _id(pair: tuple[State, Action]) -> str:
    state, action = pair
    outcome = EXPECTED[pair].value if pair in EXPECTED else "refused"
    return f"{state.value}-{action.value}->{outcome}"


def test_the_table_covers_every_state_and_action() -> None:
    assert len(ALL_PAIRS) == 8 * 11
    assert set(EXPECTED) <= set(ALL_PAIRS)


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_id)
def test_transition(pair: tuple[State, Action]) -> None:
    state, action = pair
    if pair in EXPECTED:
        assert transition(state, action) is EXPECTED[pair]
    else:
        with pytest.raises(InvalidTransition, match=f"cannot {action.value} .* {state.value}"):
            transition(state, action)
