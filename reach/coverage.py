"""Coverage of a warning version: per area, rolled up to towns and the county.

Pure arithmetic over the figures `store/reach.py` counts with SQL aggregates (DESIGN.md
§6). For each targeted area with a population figure:

- strict coverage = persons confirmed reached individually / population;
- broadcast coverage = population covered by loudspeakers that confirmed playback /
  population (a town-level loudspeaker's is spread over the town's villages, `spread`);
- estimated public coverage = 1 − (1 − individual/pop) × (1 − broadcast/pop) ×
  (1 − relayed households × household size/pop), each share capped to [0, 1].

A town or the county sums its areas: population, persons, and estimated persons
(estimated coverage × population), so a large village weighs more than a small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PUBLIC_TARGET = 0.95  # 预警信息公众覆盖率
BROADCAST_TARGET = 0.90  # 应急广播覆盖率
MILESTONES = (0.5, 0.9, 0.95)

FORMULA = (
    "估算公众覆盖率 = 1 − (1 − 个人确认送达/人口) × (1 − 广播覆盖人口/人口)"
    " × (1 − 信息员转告户数 × 户均人口/人口)，各项比例限定在 0–1；"
    "严格覆盖率 = 个人确认送达/人口。\n"
    "estimated public coverage = 1 − (1 − individual/pop) × (1 − broadcast/pop)"
    " × (1 − relayed households × household size/pop), each share capped to [0, 1];"
    " strict coverage = individual/pop."
)


def share(part: float, whole: float) -> float:
    """part/whole capped to [0, 1]; 0 when there is no whole."""
    if whole <= 0:
        return 0.0
    return min(max(part / whole, 0.0), 1.0)


def estimate(population: int, individual: float, broadcast: float, relayed: float) -> float:
    """The estimated public coverage of one area (the formula above)."""
    missed = (
        (1 - share(individual, population))
        * (1 - share(broadcast, population))
        * (1 - share(relayed, population))
    )
    return 1 - missed


@dataclass(frozen=True)
class AreaReach:
    """What was counted for one targeted area."""

    code: str
    name: str
    town: str  # the township it belongs to (its own code for a township)
    population: int
    households: int
    individual: int = 0  # distinct persons reached individually
    broadcast: int = 0  # population covered by terminals that played
    relayed_households: int = 0
    terminals: int = 0
    terminals_played: int = 0
    unreachable: int = 0  # residents no channel could reach


@dataclass(frozen=True)
class Coverage:
    """Coverage of an area or a roll-up of areas."""

    code: str
    name: str
    population: int
    individual: int
    broadcast_population: float
    relayed_households: int
    relayed_population: float
    estimated_population: float
    terminals: int
    terminals_played: int
    unreachable: int

    @property
    def strict(self) -> float:
        return share(self.individual, self.population)

    @property
    def broadcast(self) -> float:
        return share(self.broadcast_population, self.population)

    @property
    def estimated(self) -> float:
        return share(self.estimated_population, self.population)

    @property
    def meets_public_target(self) -> bool:
        return self.population > 0 and self.estimated >= PUBLIC_TARGET

    @property
    def meets_broadcast_target(self) -> bool:
        return self.population > 0 and self.broadcast >= BROADCAST_TARGET


def household_size(area: AreaReach, fallback: float) -> float:
    return area.population / area.households if area.households > 0 else fallback


def of_area(area: AreaReach, fallback_household_size: float) -> Coverage:
    pop = area.population
    relayed = area.relayed_households * household_size(area, fallback_household_size)
    capped_broadcast = min(float(area.broadcast), float(pop))
    capped_relayed = min(relayed, float(pop))
    return Coverage(
        code=area.code,
        name=area.name,
        population=pop,
        individual=min(area.individual, pop),
        broadcast_population=capped_broadcast,
        relayed_households=area.relayed_households,
        relayed_population=capped_relayed,
        estimated_population=estimate(pop, area.individual, area.broadcast, relayed) * pop,
        terminals=area.terminals,
        terminals_played=area.terminals_played,
        unreachable=area.unreachable,
    )


def roll_up(code: str, name: str, parts: Iterable[Coverage]) -> Coverage:
    """A town or the county: the sums of its areas."""
    items = list(parts)
    return Coverage(
        code=code,
        name=name,
        population=sum(c.population for c in items),
        individual=sum(c.individual for c in items),
        broadcast_population=sum(c.broadcast_population for c in items),
        relayed_households=sum(c.relayed_households for c in items),
        relayed_population=sum(c.relayed_population for c in items),
        estimated_population=sum(c.estimated_population for c in items),
        terminals=sum(c.terminals for c in items),
        terminals_played=sum(c.terminals_played for c in items),
        unreachable=sum(c.unreachable for c in items),
    )


def county_household_size(areas: Sequence[AreaReach]) -> float:
    """Persons per household over the areas that have both figures (else 3)."""
    people = sum(a.population for a in areas if a.households > 0)
    homes = sum(a.households for a in areas if a.households > 0)
    return people / homes if homes else 3.0


@dataclass(frozen=True)
class Step:
    """Reach gained in one area at one moment (seconds after the issue)."""

    second: int
    area: str
    individual: int = 0
    broadcast: int = 0
    relayed_households: int = 0


def town_shares(
    units: Sequence[tuple[str, str, int, int]], towns: Mapping[str, str]
) -> dict[str, list[tuple[str, int]]]:
    """town → [(village, population)] of the targeted villages in it: how a loudspeaker
    installed at town level is credited. Such a terminal serves the whole town (it is sent
    an EBM only for the town or an area above it), so its covered population is spread
    over the town's villages in proportion to their population (`spread`)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for code, _, population, _ in units:
        town = towns.get(code, code)
        if town != code:
            found.setdefault(town, []).append((code, population))
    return found


def spread(covered: int, villages: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """`covered` persons split over villages by population (equally where none has a
    figure); the remainder of the rounding goes to the most populous."""
    if not villages:
        return []
    weights = [max(p, 0) for _, p in villages]
    total = sum(weights)
    if total == 0:
        weights, total = [1] * len(villages), len(villages)
    parts = [covered * w // total for w in weights]
    largest = max(range(len(villages)), key=lambda i: weights[i])
    parts[largest] += covered - sum(parts)
    return [(code, part) for (code, _), part in zip(villages, parts, strict=True)]


def spread_steps(
    steps: Iterable[Step], shares: Mapping[str, Sequence[tuple[str, int]]]
) -> list[Step]:
    """Steps of town-level loudspeakers split over the town's villages (`town_shares`)."""
    found: list[Step] = []
    for step in steps:
        if step.area in shares and step.broadcast:
            found.extend(
                Step(step.second, code, broadcast=part)
                for code, part in spread(step.broadcast, shares[step.area])
            )
        else:
            found.append(step)
    return found


def timeline(
    areas: Sequence[AreaReach], steps: Iterable[Step], fallback_household_size: float
) -> list[tuple[int, float]]:
    """Estimated coverage of all the areas over time: (second, coverage) at each second
    something was gained, in order. Each step changes one area; the total is kept."""
    by_code = {a.code: a for a in areas}
    population = sum(a.population for a in areas)
    if population <= 0:
        return []
    gained: dict[str, list[float]] = {a.code: [0, 0, 0] for a in areas}
    estimated: dict[str, float] = {a.code: 0.0 for a in areas}
    total = 0.0
    points: list[tuple[int, float]] = []
    for step in sorted(steps, key=lambda s: s.second):
        area = by_code.get(step.area)
        if area is None:
            continue
        sums = gained[area.code]
        sums[0] += step.individual
        sums[1] += step.broadcast
        sums[2] += step.relayed_households * household_size(area, fallback_household_size)
        now = estimate(area.population, sums[0], sums[1], sums[2]) * area.population
        total += now - estimated[area.code]
        estimated[area.code] = now
        value = share(total, population)
        if points and points[-1][0] == step.second:
            points[-1] = (step.second, value)
        else:
            points.append((step.second, value))
    return points


def time_to(
    points: Sequence[tuple[int, float]], levels: Sequence[float] = MILESTONES
) -> dict[float, int | None]:
    """Seconds from the issue until estimated coverage first reached each level."""
    found: dict[float, int | None] = {}
    for level in levels:
        found[level] = next((second for second, value in points if value >= level - 1e-12), None)
    return found
