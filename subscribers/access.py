"""Who may see and change residents: role and area scope, checked on the server."""

from __future__ import annotations

from collections.abc import Iterable

from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.errors import PermissionDenied

VIEW = frozenset({Role.ADMIN, Role.DUTY_CHIEF, Role.LEADER, Role.INFO_OFFICER})
EDIT = frozenset({Role.ADMIN, Role.INFO_OFFICER})
IMPORT = frozenset({Role.ADMIN})


def require(actor: Actor, allowed: frozenset[Role], what: str) -> None:
    if actor.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(
            f"a {actor.role.value} may not {what} (allowed: {names})", rule="role"
        )


def require_areas(actor: Actor, codes: Iterable[str], tree: AreaTree) -> None:
    """Refuse unless every area is at or under one of the actor's areas."""
    outside = sorted({c for c in codes if not tree.is_within(c, actor.areas)})
    if outside:
        raise PermissionDenied(f"areas outside your scope: {', '.join(outside)}", rule="area_scope")


def sees_whole_numbers(actor: Actor) -> bool:
    """Only an admin sees whole phone numbers and WeChat ids, and only one resident at a time."""
    return actor.role is Role.ADMIN
