"""The sign-in back-off: how a pair's row changes with each failure, and how long it waits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.settings import load_settings
from store.throttle import Throttle
from tests.support import NOW
from web.signin import after_failure, wait_seconds

# The shipped defaults: 5 failures allowed, a 15-minute window, 2 s back-off.
SETTINGS = load_settings()
WINDOW = timedelta(minutes=15)


def row(failures: int, first: timedelta, blocked: timedelta | None = None) -> Throttle:
    """A pair's row with its first failure and end of wait relative to NOW."""
    until = NOW + blocked if blocked is not None else None
    return Throttle("duty_chief", "127.0.0.1", failures, NOW + first, until)


def test_the_defaults_are_five_failures_fifteen_minutes_and_two_seconds() -> None:
    assert (SETTINGS.login_max_failures, SETTINGS.login_window_minutes) == (5, 15)
    assert SETTINGS.login_backoff_seconds == 2


@pytest.mark.parametrize(
    ("before", "failures", "first", "wait"),
    [
        # a new row (as ThrottleRepository.locked creates it): the first failure, no wait
        (row(0, timedelta(0)), 1, timedelta(0), None),
        (row(3, -timedelta(minutes=1)), 4, -timedelta(minutes=1), None),
        # the 5th failure starts the back-off, each further one doubles it
        (row(4, -timedelta(minutes=1)), 5, -timedelta(minutes=1), 2),
        (row(5, -timedelta(minutes=1), -timedelta(seconds=1)), 6, -timedelta(minutes=1), 4),
        (row(8, -timedelta(minutes=2), timedelta(0)), 9, -timedelta(minutes=2), 32),
        # never longer than the window, however many failures (and no overflow)
        (row(13, -timedelta(minutes=14), timedelta(0)), 14, -timedelta(minutes=14), 900),
        (row(5000, -timedelta(minutes=14), timedelta(0)), 5001, -timedelta(minutes=14), 900),
        # a guesser who waited out the last delay is still counted, even after the window
        (row(12, -timedelta(minutes=20), -timedelta(minutes=1)), 13, -timedelta(minutes=20), 512),
        # a whole window after the first failure and the last wait: forgotten, count anew
        (row(4, -WINDOW), 1, timedelta(0), None),
        (row(12, -timedelta(hours=1), -WINDOW), 1, timedelta(0), None),
    ],
)
def test_a_failure_counts_and_sets_the_wait(
    before: Throttle, failures: int, first: timedelta, wait: int | None
) -> None:
    after = after_failure(before, NOW, SETTINGS)
    assert (after.username, after.address) == (before.username, before.address)
    assert after.failures == failures
    assert after.first_failure_at == NOW + first
    assert wait_seconds(after, NOW) == (wait or 0)
    expected = NOW + timedelta(seconds=wait) if wait is not None else None
    assert after.blocked_until == expected


@pytest.mark.parametrize(
    ("throttle", "wait"),
    [
        (None, 0),
        (row(3, -timedelta(minutes=1)), 0),
        (row(5, timedelta(0), timedelta(seconds=2)), 2),
        (row(6, timedelta(0), timedelta(seconds=3.2)), 4),  # rounded up: never too early
        (row(6, timedelta(0), timedelta(0)), 0),  # the wait ends exactly now
    ],
)
def test_wait_seconds(throttle: Throttle | None, wait: int) -> None:
    assert wait_seconds(throttle, NOW) == wait
