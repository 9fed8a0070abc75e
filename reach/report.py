"""A warning version's coverage report: counted in the store, computed by coverage.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reach import coverage
from reach.coverage import AreaReach, Coverage
from store.db import Tx
from store.reach import Breakdown
from subscribers.officers import serves
from warning.areas import AreaTree
from warning.errors import InvalidTransition, NotFound
from warning.model import Version, Warning

COUNTY_LEVEL = "county"
TOWN_LEVEL = "township"


@dataclass(frozen=True)
class Gap:
    """An area below the public coverage target, and who can act on it."""

    area: Coverage
    town: str
    officers: tuple[str, ...]  # usernames of the officers serving it


@dataclass(frozen=True)
class Report:
    warning_id: int
    version: int
    hazard: str
    grade: str
    mode: str
    issued_at: datetime | None
    generated_at: datetime
    county: Coverage
    towns: list[Coverage]
    areas: list[tuple[AreaReach, Coverage]]
    groups: list[Breakdown]
    channels: list[Breakdown]
    timeline: list[tuple[int, float]]
    time_to: dict[float, int | None]
    gaps: list[Gap]


def chosen_version(warning: Warning, number: int | None) -> Version:
    """The version asked for, else the latest issued one that is not an all-clear."""
    if number is not None:
        if not 1 <= number <= len(warning.versions):
            raise NotFound(f"warning {warning.id} has no version {number}", field="version")
        chosen = warning.version(number)
        if not chosen.was_issued:
            raise InvalidTransition(
                f"version {number} was never issued: it reached nobody", field="version"
            )
        return chosen
    issued = [v for v in warning.versions if v.was_issued and not v.is_cancel]
    if not issued:
        raise InvalidTransition(
            f"warning {warning.id} has not been issued: it reached nobody yet", field="version"
        )
    return issued[-1]


def town_of(code: str, tree: AreaTree) -> str:
    """The township an area lies in (itself for a township; the code when none)."""
    for ancestor in [code, *tree.ancestors(code)]:
        if tree.level(ancestor) == TOWN_LEVEL:
            return ancestor
    return code


def county_of(tree: AreaTree) -> str:
    return next((c for c in tree.codes() if tree.level(c) == COUNTY_LEVEL), "")


async def build(
    tx: Tx, warning: Warning, version: Version, tree: AreaTree, now: datetime
) -> Report:
    """Coverage of one version, per area, town and county, with its gap list."""
    assert warning.id is not None
    units = await tx.reach.leaf_areas(version.areas)
    towns = {code: town_of(code, tree) for code, *_ in units}
    found = await tx.reach.per_area(warning.id, version.number, units, towns)
    fallback = coverage.county_household_size(found)
    areas = [(a, coverage.of_area(a, fallback)) for a in found]
    by_town: dict[str, list[Coverage]] = {}
    for a, c in areas:
        by_town.setdefault(a.town, []).append(c)
    town_rows = [
        coverage.roll_up(code, tree.name(code) if code in tree else code, parts)
        for code, parts in sorted(by_town.items())
    ]
    county_code = county_of(tree)
    county = coverage.roll_up(
        county_code, tree.name(county_code) if county_code else "", [c for _, c in areas]
    )
    timeline: list[tuple[int, float]] = []
    if version.issued_at is not None:
        steps = coverage.spread_steps(
            await tx.reach.steps(warning.id, version.number, version.issued_at),
            coverage.town_shares(units, towns),
        )
        timeline = coverage.timeline(found, steps, fallback)
    officers = await tx.users.officers()
    gaps = [
        Gap(
            c,
            a.town,
            tuple(o.username for o in officers if serves(o.areas, [a.code], tree)),
        )
        for a, c in areas
        if c.population > 0 and not c.meets_public_target
    ]
    return Report(
        warning_id=warning.id,
        version=version.number,
        hazard=version.hazard,
        grade=version.grade.value,
        mode=version.mode.value,
        issued_at=version.issued_at,
        generated_at=now,
        county=county,
        towns=town_rows,
        areas=areas,
        groups=await tx.reach.by_group(warning.id, version.number),
        channels=await tx.reach.by_channel(warning.id, version.number),
        timeline=timeline,
        time_to=coverage.time_to(timeline),
        gaps=gaps,
    )
