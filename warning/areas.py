"""The administrative area tree (county → township → village) used for scope checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    parent: str | None
    level: str


class AreaTree:
    """Parent links of every known area; answers 'is this area at or under that one?'."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self._areas: Mapping[str, Area] = {a.code: a for a in areas}

    def __contains__(self, code: object) -> bool:
        return code in self._areas

    def __len__(self) -> int:
        return len(self._areas)

    def get(self, code: str) -> Area | None:
        return self._areas.get(code)

    def name(self, code: str) -> str:
        area = self._areas.get(code)
        return area.name if area else code

    def ancestors(self, code: str) -> list[str]:
        """The area itself and every area above it, nearest first."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current in self._areas and current not in chain:
            chain.append(current)
            current = self._areas[current].parent
        return chain

    def is_within(self, code: str, scope: Iterable[str]) -> bool:
        """True when `code` is one of `scope` or lies under one of them."""
        scope_set = set(scope)
        return any(c in scope_set for c in self.ancestors(code))


LEVELS = ("county", "township", "village", "extra")
_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")


def parse_divisions(
    rows: Iterable[tuple[int, Mapping[str, str]]], known: AreaTree
) -> tuple[list[Area], list[str]]:
    """Areas from numbered CSV rows (code, name, parent_code, level), and one error per bad row.

    A parent must be a known area or appear in the same file; only a county may have a
    parent ewb does not hold (its prefecture).
    """
    parsed: dict[str, tuple[int, Area]] = {}
    errors: list[tuple[int, str]] = []
    for line, row in rows:
        code, name, parent, level = (
            row.get(k, "") for k in ("code", "name", "parent_code", "level")
        )
        problem = None
        if not code or len(code) > 20 or not set(code) <= _CODE_CHARS:
            problem = f"bad code {code!r} (letters, digits, '-' or '_', at most 20)"
        elif code in parsed:
            problem = f"code {code} appears again (first on line {parsed[code][0]})"
        elif not name or len(name) > 100:
            problem = "name is empty or longer than 100 characters"
        elif level not in LEVELS:
            problem = f"level {level!r} is not one of {', '.join(LEVELS)}"
        if problem:
            errors.append((line, problem))
            continue
        parsed[code] = (line, Area(code=code, name=name, parent=parent or None, level=level))
    for line, area in parsed.values():
        if area.level == "county":
            continue
        if area.parent is None or (area.parent not in parsed and area.parent not in known):
            errors.append((line, f"parent {area.parent!r} of {area.code} is not a known area"))
    return [area for _, area in parsed.values()], [f"line {n}: {e}" for n, e in sorted(errors)]
