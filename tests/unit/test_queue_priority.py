"""Batches queue on Redis priority steps in the engine's order: lanes first, then grade."""

from __future__ import annotations

import pytest

from delivery import lanes
from delivery.lanes import BROADCAST, OFFICER, RESIDENT, queue_priority


def test_loudspeakers_and_officers_go_before_any_resident() -> None:
    red_change = queue_priority(RESIDENT, 45)
    assert queue_priority(BROADCAST, 11) == 0
    assert queue_priority(OFFICER, 11) == 1
    assert red_change > 1


def test_residents_go_by_grade_and_a_change_before_a_first_warning() -> None:
    red_change, red, orange_change, orange, blue = (
        queue_priority(RESIDENT, p) for p in (45, 40, 35, 30, 10)
    )
    assert 1 < red_change < red < orange_change < orange < blue <= 9


def test_every_recipient_kind_has_its_lane() -> None:
    assert lanes.lane_of("terminal") == BROADCAST
    assert lanes.lane_of("resident") == RESIDENT
    assert {lanes.lane_of(k) for k in ("officer", "chief", "gap")} == {OFFICER}


def test_lanes_are_read_in_urgency_order_and_a_wrong_one_is_named() -> None:
    assert lanes.parse_lanes("resident, broadcast") == (BROADCAST, RESIDENT)
    with pytest.raises(ValueError, match="loudspeaker"):
        lanes.parse_lanes("broadcast,loudspeaker")
    with pytest.raises(ValueError, match="none given"):
        lanes.parse_lanes(" , ")
