"""The approval policy: which roles draft, approve (in order) and issue each grade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from warning.actors import NEVER_DRAFT_OR_APPROVE, Role
from warning.grades import Grade


@dataclass(frozen=True)
class Policy:
    approvals: Mapping[Grade, tuple[Role, ...]]
    cancel_approvals: tuple[Role, ...]
    draft_roles: frozenset[Role]
    issue_roles: frozenset[Role]
    max_duration: timedelta

    def approval_steps(self, grade: Grade, *, cancel: bool) -> tuple[Role, ...]:
        """The roles that must approve, in order, a version of this grade (or a cancel)."""
        return self.cancel_approvals if cancel else self.approvals[grade]


def _roles(values: list[str], where: str) -> tuple[Role, ...]:
    roles = tuple(Role(v) for v in values)
    forbidden = set(roles) & NEVER_DRAFT_OR_APPROVE
    if forbidden:
        names = ", ".join(sorted(r.value for r in forbidden))
        raise ValueError(f"policy {where}: {names} may never draft, approve or issue")
    return roles


def build_policy(doc: Mapping[str, Any]) -> Policy:
    """Build the policy from the parsed policy TOML; raises ValueError on bad data."""
    approval = doc["approval"]
    approvals = {grade: _roles(approval[grade.value], f"approval.{grade.value}") for grade in Grade}
    for grade, steps in approvals.items():
        if not steps:
            raise ValueError(f"policy approval.{grade.value}: needs at least one approver")
    cancel = _roles(approval["cancel"], "approval.cancel")
    if not cancel:
        raise ValueError("policy approval.cancel: needs at least one approver")
    return Policy(
        approvals=approvals,
        cancel_approvals=cancel,
        draft_roles=frozenset(_roles(doc["roles"]["draft"], "roles.draft")),
        issue_roles=frozenset(_roles(doc["roles"]["issue"], "roles.issue")),
        max_duration=timedelta(days=float(doc["limits"]["max_duration_days"])),
    )
