"""The coverage formula, roll-ups and time-to-coverage, on hand-computed numbers."""

from __future__ import annotations

import pytest

from reach import charts, coverage
from reach.coverage import AreaReach, Step

VILLAGE = AreaReach("V1", "东园", "T1", population=1000, households=400)


def test_the_formula_combines_the_three_ways_of_reaching_people() -> None:
    # 1 − (1 − 0.5)(1 − 0.2)(1 − 0.1) = 1 − 0.36 = 0.64
    assert coverage.estimate(1000, 500, 200, 100) == pytest.approx(0.64)
    assert coverage.estimate(1000, 0, 0, 0) == 0
    assert coverage.estimate(1000, 1000, 0, 0) == 1


def test_each_share_is_capped_and_an_area_without_population_counts_nothing() -> None:
    assert coverage.estimate(100, 250, -5, 0) == 1  # more persons than the figure: capped
    assert coverage.share(5, 0) == 0
    assert coverage.estimate(0, 10, 10, 10) == 0


def test_relayed_households_count_by_the_areas_household_size() -> None:
    area = AreaReach("V1", "东园", "T1", 1000, 400, individual=0, relayed_households=40)
    c = coverage.of_area(area, fallback_household_size=3)
    assert c.relayed_population == pytest.approx(100)  # 40 households × 2.5 persons
    assert c.estimated == pytest.approx(0.1)
    no_households = AreaReach("P", "化工园区", "T1", 600, 0, relayed_households=10)
    assert coverage.of_area(no_households, 3).relayed_population == 30


def test_a_town_weighs_its_villages_by_population() -> None:
    big = coverage.of_area(AreaReach("V1", "大村", "T", 900, 300, individual=900), 3)
    small = coverage.of_area(AreaReach("V2", "小村", "T", 100, 30, individual=0), 3)
    town = coverage.roll_up("T", "镇", [big, small])
    assert town.population == 1000
    assert town.estimated == pytest.approx(0.9)
    assert town.strict == pytest.approx(0.9)
    assert not town.meets_public_target
    assert big.meets_public_target


def test_broadcast_coverage_is_measured_against_its_own_target() -> None:
    area = coverage.of_area(AreaReach("V", "村", "T", 1000, 0, broadcast=920), 3)
    assert area.broadcast == pytest.approx(0.92)
    assert area.meets_broadcast_target and not area.meets_public_target


def test_the_timeline_adds_gains_in_order_and_finds_the_milestones() -> None:
    areas = [
        AreaReach("A", "甲", "T", 600, 200),
        AreaReach("B", "乙", "T", 400, 100),
    ]
    steps = [
        Step(30, "B", broadcast=400),  # B fully covered at 30 s: 40 %
        Step(10, "A", individual=300),  # A half at 10 s: 30 %
        Step(30, "A", individual=100),  # same second: one point
        Step(90, "A", relayed_households=100),  # 300 persons of the 200 still missed in A
        Step(95, "nowhere", individual=5),  # not a targeted area: ignored
    ]
    points = coverage.timeline(areas, steps, fallback_household_size=3)
    a_at_30 = 400 / 600
    assert points[0] == (10, pytest.approx(0.3))
    assert points[1] == (30, pytest.approx((a_at_30 * 600 + 400) / 1000))
    a_at_90 = coverage.estimate(600, 400, 0, 300)
    assert points[2] == (90, pytest.approx((a_at_90 * 600 + 400) / 1000))
    assert len(points) == 3
    assert coverage.time_to(points) == {0.5: 30, 0.9: 90, 0.95: None}


def test_a_timeline_with_no_population_is_empty() -> None:
    assert coverage.timeline([AreaReach("A", "甲", "T", 0, 0)], [Step(1, "A", 5)], 3) == []


def test_the_charts_draw_within_their_frame_and_mark_the_target() -> None:
    line = charts.coverage_over_time([(30, 0.5), (120, 0.96)])
    left, top, right, bottom = line.plot
    for pair in line.points.split():
        x, y = map(float, pair.split(","))
        assert left <= x <= right and top <= y <= bottom
    assert top < line.target_y < bottom
    towns = [
        coverage.of_area(AreaReach("T1", "陈家港镇", "T1", 100, 0, broadcast=100), 3),
        coverage.of_area(AreaReach("T2", "响水镇", "T2", 100, 0, broadcast=50), 3),
    ]
    bars = charts.coverage_by_town(towns)
    assert [b.below_target for b in bars.bars] == [False, True]
    assert bars.bars[0].y == pytest.approx(bars.plot[1])  # 100 %: the top of the frame
    assert bars.bars[1].y + bars.bars[1].height == pytest.approx(bars.plot[3])


def test_a_town_level_loudspeaker_is_spread_over_its_villages_by_population() -> None:
    units = [("V1", "东园", 300, 100), ("V2", "西园", 100, 30), ("T", "镇", 0, 0)]
    shares = coverage.town_shares(units, {"V1": "T", "V2": "T", "T": "T"})
    assert shares == {"T": [("V1", 300), ("V2", 100)]}  # a leaf town is its own unit
    assert coverage.spread(1001, shares["T"]) == [("V1", 751), ("V2", 250)]
    assert coverage.spread(3, [("A", 0), ("B", 0)]) == [("A", 2), ("B", 1)]  # no figures
    assert coverage.spread(5, []) == []
    steps = [Step(4, "T", broadcast=400), Step(5, "V1", individual=2)]
    assert coverage.spread_steps(steps, shares) == [
        Step(4, "V1", broadcast=300),
        Step(4, "V2", broadcast=100),
        Step(5, "V1", individual=2),
    ]
