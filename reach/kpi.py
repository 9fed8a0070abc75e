"""The period's indicators from the county plan, over the actual warnings issued in it.

预警信息公众覆盖率 (public coverage of warnings in the affected area, target ≥ 95 %) and
应急广播覆盖率 (emergency-broadcast coverage, target ≥ 90 %). Each is weighted by the
population each warning was meant for: of all the people the period's warnings targeted,
the share reached. Exercises and tests are not counted (the store selects actual ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reach.coverage import BROADCAST_TARGET, PUBLIC_TARGET, Coverage, share


@dataclass(frozen=True)
class Indicator:
    name: str
    english: str
    value: float | None  # None: no warning in the period
    target: float

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value >= self.target


def indicators(counties: Sequence[Coverage]) -> list[Indicator]:
    """The plan's two indicators over the warnings' county-level coverage."""
    population = sum(c.population for c in counties)
    estimated = sum(c.estimated_population for c in counties)
    broadcast = sum(c.broadcast_population for c in counties)
    some = population > 0
    return [
        Indicator(
            "预警信息公众覆盖率",
            "public coverage of warnings in the affected area",
            share(estimated, population) if some else None,
            PUBLIC_TARGET,
        ),
        Indicator(
            "应急广播覆盖率",
            "emergency-broadcast coverage",
            share(broadcast, population) if some else None,
            BROADCAST_TARGET,
        ),
    ]


def strict(counties: Sequence[Coverage]) -> float | None:
    population = sum(c.population for c in counties)
    return share(sum(c.individual for c in counties), population) if population > 0 else None
