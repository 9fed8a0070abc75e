"""Who acts: a user's role, organisation and area scope."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    FORECASTER = "forecaster"
    DUTY_CHIEF = "duty_chief"
    LEADER = "leader"
    INFO_OFFICER = "info_officer"
    ADMIN = "admin"


# The plan's separation of duties: these roles never draft or approve warnings,
# whatever the policy file says.
NEVER_DRAFT_OR_APPROVE = frozenset({Role.ADMIN, Role.INFO_OFFICER})


@dataclass(frozen=True)
class Actor:
    """An authenticated user as the domain sees them."""

    username: str
    role: Role
    org: str
    areas: frozenset[str]


SYSTEM = Actor(username="system", role=Role.ADMIN, org="county", areas=frozenset())
