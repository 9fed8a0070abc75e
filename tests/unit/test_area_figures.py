"""Population figures: reading CSV rows, and deriving parents' totals from their children."""

from __future__ import annotations

from dataclasses import replace

import pytest

from subscribers.areas import SAMPLE, SUM, AreaFigures, Population, derive_totals, parse_population
from warning.areas import Area, AreaTree

# A small tree: the county, two towns with two villages each, and a harbour (extra) in town 2.
COUNTY = "320921"
TOWN_1, TOWN_2 = "320921100", "320921101"
T1_VILLAGES = ("320921100001", "320921100002")
T2_VILLAGES = ("320921101001", "320921101002")
VILLAGES = T1_VILLAGES + T2_VILLAGES
HARBOUR = "320921101E02"

TREE = AreaTree(
    [
        Area(COUNTY, "响水县", "320900", "county"),
        Area(TOWN_1, "响水镇", COUNTY, "township"),
        Area(TOWN_2, "陈家港镇", COUNTY, "township"),
        Area(T1_VILLAGES[0], "东园居委会", TOWN_1, "village"),
        Area(T1_VILLAGES[1], "城东居委会", TOWN_1, "village"),
        Area(T2_VILLAGES[0], "海安居委会", TOWN_2, "village"),
        Area(T2_VILLAGES[1], "大湾居委会", TOWN_2, "village"),
        Area(HARBOUR, "陈家港渔港", TOWN_2, "extra"),
    ]
)


# --- parse_population ---------------------------------------------------------------------


def numbered(*rows: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    """CSV rows numbered as in the file: the header is line 1."""
    return list(enumerate(rows, start=2))


def pop(code: str, population: str, households: str, source: str = "census2020") -> dict[str, str]:
    return {"code": code, "population": population, "households": households, "source": source}


def test_parse_population_good_rows() -> None:
    figures, errors = parse_population(
        numbered(
            pop(T1_VILLAGES[0], "7879", "2963"),
            pop(TOWN_1, " 89793 ", " 31566 ", " sample "),
            pop(HARBOUR, "0", "0", "harbour office 2025"),
        ),
        TREE,
    )
    assert errors == []
    assert figures == [
        Population(T1_VILLAGES[0], 7879, 2963, "census2020"),
        Population(TOWN_1, 89793, 31566, "sample"),
        Population(HARBOUR, 0, 0, "harbour office 2025"),
    ]


BAD_POPULATION = {
    "unknown-area": (pop("320921999", "10", "5"), "unknown area '320921999'"),
    "empty-code": (pop("", "10", "5"), "unknown area ''"),
    "non-numeric-population": (
        pop(TOWN_1, "many", "5"),
        "population and households must be whole numbers",
    ),
    "decimal-households": (
        pop(TOWN_1, "10", "4.5"),
        "population and households must be whole numbers",
    ),
    "blank-population": (pop(TOWN_1, "", "5"), "population and households must be whole numbers"),
    "households-over-population": (pop(TOWN_1, "10", "11"), "need 0 <= households <= population"),
    "negative-population": (pop(TOWN_1, "-1", "0"), "need 0 <= households <= population"),
    "empty-source": (
        pop(TOWN_1, "10", "5", " "),
        "source is empty or longer than 100 characters",
    ),
    "long-source": (
        pop(TOWN_1, "10", "5", "s" * 101),
        "source is empty or longer than 100 characters",
    ),
}


@pytest.mark.parametrize(("bad", "problem"), BAD_POPULATION.values(), ids=BAD_POPULATION.keys())
def test_parse_population_reports_the_line(bad: dict[str, str], problem: str) -> None:
    good = pop(T1_VILLAGES[0], "7879", "2963")
    figures, errors = parse_population(numbered(good, bad, good | {"code": VILLAGES[2]}), TREE)
    assert errors == [f"line 3: {problem}"]
    assert [f.code for f in figures] == [T1_VILLAGES[0], VILLAGES[2]]


def test_parse_population_duplicate_keeps_the_first() -> None:
    figures, errors = parse_population(
        numbered(pop(TOWN_1, "100", "40"), pop(TOWN_2, "50", "20"), pop(TOWN_1, "999", "300")),
        TREE,
    )
    assert errors == [f"line 4: area {TOWN_1} appears again"]
    assert figures == [
        Population(TOWN_1, 100, 40, "census2020"),
        Population(TOWN_2, 50, 20, "census2020"),
    ]


def test_parse_population_reports_every_bad_line() -> None:
    figures, errors = parse_population(
        numbered(pop("nowhere", "1", "1"), pop(TOWN_1, "x", "1"), pop(TOWN_2, "1", "2")), TREE
    )
    assert figures == []
    assert errors == [
        "line 2: unknown area 'nowhere'",
        "line 3: population and households must be whole numbers",
        "line 4: need 0 <= households <= population",
    ]


# --- derive_totals --------------------------------------------------------------------------

# Sample figures that already add up: villages → towns → county (the harbour is not counted).
SAMPLE_FIGURES = {
    COUNTY: (10000, 3700),
    TOWN_1: (3000, 1100),
    TOWN_2: (7000, 2600),
    T1_VILLAGES[0]: (1000, 400),
    T1_VILLAGES[1]: (2000, 700),
    T2_VILLAGES[0]: (3000, 1100),
    T2_VILLAGES[1]: (4000, 1500),
    HARBOUR: (500, 200),
}
CENSUS = {
    T1_VILLAGES[0]: (1100, 410),
    T1_VILLAGES[1]: (2100, 720),
    T2_VILLAGES[0]: (3200, 1150),
    T2_VILLAGES[1]: (4300, 1600),
}


def sample_areas() -> list[AreaFigures]:
    figures = []
    for code in TREE.codes():
        area = TREE.get(code)
        assert area is not None
        population, households = SAMPLE_FIGURES[code]
        figures.append(
            AreaFigures(code, area.name, area.parent, area.level, population, households, SAMPLE)
        )
    return figures


def with_figures(
    areas: list[AreaFigures], figures: dict[str, tuple[int, int]], source: str = "census2020"
) -> list[AreaFigures]:
    return [
        replace(
            a,
            population=figures[a.code][0],
            households=figures[a.code][1],
            population_source=source,
        )
        if a.code in figures
        else a
        for a in areas
    ]


def settled(
    areas: list[AreaFigures], given: set[str]
) -> tuple[dict[str, tuple[int, int, str]], set[str]]:
    """Every area's (population, households, source) after deriving, and the changed codes."""
    changed = derive_totals(areas, given)
    result = {a.code: a for a in areas} | {a.code: a for a in changed}
    return (
        {c: (a.population, a.households, a.population_source) for c, a in result.items()},
        {a.code for a in changed},
    )


def test_sample_figures_given_for_all_change_nothing() -> None:
    areas = sample_areas()
    assert derive_totals(areas, set(TREE.codes())) == []


def test_consistent_sample_figures_change_nothing_even_when_not_given() -> None:
    assert derive_totals(sample_areas(), set()) == []


@pytest.mark.parametrize(
    "harbour_source", [SAMPLE, "harbour office 2025"], ids=["harbour-sample", "harbour-real"]
)
def test_real_figures_for_all_villages_sum_up_to_towns_and_county(harbour_source: str) -> None:
    areas = with_figures(sample_areas(), CENSUS)
    areas = with_figures(areas, {HARBOUR: (800, 300)}, harbour_source)
    figures, changed = settled(areas, set(VILLAGES))
    assert changed == {TOWN_1, TOWN_2, COUNTY}
    assert figures[TOWN_1] == (1100 + 2100, 410 + 720, SUM)
    assert figures[TOWN_2] == (3200 + 4300, 1150 + 1600, SUM)  # the harbour is not added
    assert figures[COUNTY] == (1100 + 2100 + 3200 + 4300, 410 + 720 + 1150 + 1600, SUM)
    assert figures[HARBOUR] == (800, 300, harbour_source)
    assert all(figures[v] == (*CENSUS[v], "census2020") for v in VILLAGES)


def test_real_figures_for_one_town_leave_the_county_sample() -> None:
    census_t1 = {v: CENSUS[v] for v in T1_VILLAGES}
    areas = with_figures(sample_areas(), census_t1)
    figures, changed = settled(areas, set(T1_VILLAGES))
    assert changed == {TOWN_1, COUNTY}
    assert figures[TOWN_1] == (3200, 1130, SUM)
    assert figures[TOWN_2] == (7000, 2600, SAMPLE)  # as it was
    assert figures[COUNTY] == (3200 + 7000, 1130 + 2600, SAMPLE)  # part of it is sample


def test_a_town_given_with_real_figures_keeps_them() -> None:
    areas = with_figures(sample_areas(), CENSUS)
    areas = with_figures(areas, {TOWN_1: (5000, 1800)}, "census2020")
    figures, changed = settled(areas, {*VILLAGES, TOWN_1})
    assert changed == {TOWN_2, COUNTY}
    assert figures[TOWN_1] == (5000, 1800, "census2020")  # not its villages' 3200
    assert figures[TOWN_2] == (7500, 2750, SUM)
    assert figures[COUNTY] == (5000 + 7500, 1800 + 2750, SUM)


def test_a_town_holding_real_figures_from_an_earlier_import_is_not_overwritten() -> None:
    areas = with_figures(sample_areas(), CENSUS)
    areas = with_figures(areas, {TOWN_2: (9999, 3333)}, "census2020")
    figures, changed = settled(areas, set(VILLAGES))
    assert changed == {TOWN_1, COUNTY}
    assert figures[TOWN_2] == (9999, 3333, "census2020")
    assert figures[COUNTY] == (3200 + 9999, 1130 + 3333, SUM)


def test_a_sample_parent_is_re_summed_from_sample_children() -> None:
    areas = with_figures(sample_areas(), {TOWN_2: (1, 1)}, SAMPLE)  # out of step with villages
    figures, changed = settled(areas, set())
    assert changed == {TOWN_2}  # the county already adds up from the derived towns
    assert figures[TOWN_2] == (7000, 2600, SAMPLE)
    assert figures[COUNTY] == (10000, 3700, SAMPLE)


def test_derived_areas_keep_their_identity() -> None:
    areas = with_figures(sample_areas(), CENSUS)
    changed = {a.code: a for a in derive_totals(areas, set(VILLAGES))}
    assert changed[TOWN_2] == AreaFigures(TOWN_2, "陈家港镇", COUNTY, "township", 7500, 2750, SUM)
