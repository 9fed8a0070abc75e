"""Who may do what: role, organisation and area scope, checked on the server."""

from __future__ import annotations

from collections.abc import Iterable

from warning.actors import NEVER_DRAFT_OR_APPROVE, Actor, Role
from warning.errors import PermissionDenied
from warning.grades import Grade
from warning.rules import Rules
from warning.workflow import Action

_DRAFTING = frozenset({Action.DRAFT, Action.EDIT, Action.SUBMIT, Action.REDRAFT, Action.REVISE})
_APPROVING = frozenset({Action.APPROVE, Action.REJECT})


def allowed_roles(action: Action, grade: Grade, rules: Rules, *, cancel: bool) -> frozenset[Role]:
    """The roles the policy lets do `action` on a version of `grade`."""
    if action in _DRAFTING:
        return rules.policy.draft_roles
    if action in _APPROVING:
        return frozenset(rules.policy.approval_steps(grade, cancel=cancel))
    if action is Action.ISSUE:
        return rules.policy.issue_roles
    return frozenset()


def require(
    actor: Actor,
    action: Action,
    *,
    hazard: str,
    grade: Grade,
    areas: Iterable[str],
    rules: Rules,
    cancel: bool = False,
) -> None:
    """Raise PermissionDenied unless `actor` may do `action` on this hazard, grade and areas."""
    roles = allowed_roles(action, grade, rules, cancel=cancel)
    if actor.role in NEVER_DRAFT_OR_APPROVE or actor.role not in roles:
        names = ", ".join(sorted(r.value for r in roles - NEVER_DRAFT_OR_APPROVE)) or "nobody"
        raise PermissionDenied(
            f"a {actor.role.value} may not {action.value} this warning (allowed: {names})",
            rule="role",
        )
    if not rules.catalog.org_may_issue(actor.org, hazard):
        raise PermissionDenied(
            f"organisation {actor.org!r} does not issue {hazard} warnings", rule="organisation"
        )
    outside = [code for code in areas if not rules.areas.is_within(code, actor.areas)]
    if outside:
        raise PermissionDenied(f"areas outside your scope: {', '.join(outside)}", rule="area_scope")
