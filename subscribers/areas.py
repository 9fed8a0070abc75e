"""Areas as data: divisions and population CSV rows, and totals derived from children."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from subscribers.names import english_name
from warning.areas import Area, AreaTree

LEVELS = ("county", "township", "village", "extra")
POPULATION_COLUMNS = ("code", "population", "households", "source")
SAMPLE = "sample"  # the shipped figures; the API and README say they are not census data
SUM = "sum"  # a parent's figures summed from children that all have real figures
_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")


@dataclass(frozen=True)
class AreaFigures:
    code: str
    name: str
    parent: str | None
    level: str
    population: int
    households: int
    population_source: str


@dataclass(frozen=True)
class Population:
    code: str
    population: int
    households: int
    source: str


def parse_divisions(
    rows: Iterable[tuple[int, Mapping[str, str]]], known: AreaTree
) -> tuple[list[Area], list[str]]:
    """Areas from numbered CSV rows (code, name, parent_code, level), and one error per bad row.

    A parent must be a known area or appear in the same file; only a county may have a
    parent ewb does not hold (its prefecture). `extra` areas (a chemical park, a harbour)
    sit under any area with a code of their own.
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
        area = Area(code, name, parent or None, level, name_en=english_name(name))
        parsed[code] = (line, area)
    for line, area in parsed.values():
        if area.level == "county":
            continue
        if area.parent is None or (area.parent not in parsed and area.parent not in known):
            errors.append((line, f"parent {area.parent!r} of {area.code} is not a known area"))
    return [area for _, area in parsed.values()], [f"line {n}: {e}" for n, e in sorted(errors)]


def parse_population(
    rows: Iterable[tuple[int, Mapping[str, str]]], known: AreaTree
) -> tuple[list[Population], list[str]]:
    """Figures from numbered CSV rows (code, population, households, source) and row errors."""
    figures: dict[str, Population] = {}
    errors: list[str] = []
    for line, row in rows:
        code = (row.get("code") or "").strip()
        source = (row.get("source") or "").strip()
        try:
            population = int((row.get("population") or "").strip())
            households = int((row.get("households") or "").strip())
        except ValueError:
            errors.append(f"line {line}: population and households must be whole numbers")
            continue
        if code not in known:
            errors.append(f"line {line}: unknown area {code!r}")
        elif code in figures:
            errors.append(f"line {line}: area {code} appears again")
        elif population < 0 or households < 0 or households > population:
            errors.append(f"line {line}: need 0 <= households <= population")
        elif not source or len(source) > 100:
            errors.append(f"line {line}: source is empty or longer than 100 characters")
        else:
            figures[code] = Population(code, population, households, source)
    return list(figures.values()), errors


def derive_totals(areas: list[AreaFigures], given: set[str]) -> list[AreaFigures]:
    """Parents not given explicitly, and not holding real figures, become sums of children.

    Extra areas overlap villages, so they never count towards a parent. A derived total
    stays marked `sample` while any part of it is sample data. Returns the changed areas.
    """
    by_code = {a.code: a for a in areas}
    children: dict[str, list[str]] = {}
    for a in areas:
        if a.parent in by_code and a.level != "extra":
            children.setdefault(a.parent, []).append(a.code)
    changed: dict[str, AreaFigures] = {}

    def settle(code: str) -> AreaFigures:
        area = changed.get(code, by_code[code])
        kids = [settle(c) for c in children.get(code, [])]
        derivable = area.population_source in (SAMPLE, SUM, "none") and code not in given
        if not kids or not derivable:
            return area
        source = SAMPLE if any(k.population_source == SAMPLE for k in kids) else SUM
        total = replace(
            area,
            population=sum(k.population for k in kids),
            households=sum(k.households for k in kids),
            population_source=source,
        )
        if total != by_code[code]:
            changed[code] = total
        return total

    for root in (a.code for a in areas if a.parent not in by_code):
        settle(root)
    return list(changed.values())
