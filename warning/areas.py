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
    # The name in English (pinyin and the kind of place: Chenjiagang Town), set where the
    # tree is built from stored or loaded rows; None when nobody gave one.
    name_en: str | None = None


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

    def codes(self) -> list[str]:
        return list(self._areas)

    def level(self, code: str) -> str | None:
        area = self._areas.get(code)
        return area.level if area else None

    def name(self, code: str) -> str:
        area = self._areas.get(code)
        return area.name if area else code

    def name_en(self, code: str) -> str:
        """The English name; the Chinese one if the area has none, the code if unknown."""
        area = self._areas.get(code)
        return (area.name_en or area.name) if area else code

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
