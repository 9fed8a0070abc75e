"""The SMS adapter's tables: Twilio's error answers → outcome, status callbacks → events."""

from __future__ import annotations

import pytest

from channels.base import Outcome
from channels.sms import StatusEvent, event_for_status, outcome_for, result_for_error


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, 21211, Outcome.PERMANENT),  # invalid number
        (400, 21614, Outcome.PERMANENT),  # not a mobile
        (400, 21610, Outcome.PERMANENT),  # unsubscribed (STOP)
        (400, 21612, Outcome.PERMANENT),  # unroutable
        (400, 21408, Outcome.PERMANENT),  # region not permitted
        (400, 21617, Outcome.PERMANENT),  # body too long: resending will not help
        (401, 20003, Outcome.PERMANENT),  # bad credentials
        (404, 20404, Outcome.PERMANENT),
        (422, 422, Outcome.PERMANENT),  # a request that breaks the contract
        (400, 21611, Outcome.RETRYABLE),  # the sender's queue is full
        (429, 20429, Outcome.RETRYABLE),
        (429, None, Outcome.RETRYABLE),  # a bare 429 from an edge
        (400, 20429, Outcome.RETRYABLE),  # the code counts even on another status
        (500, 20500, Outcome.RETRYABLE),
        (500, None, Outcome.RETRYABLE),
        (502, 502, Outcome.RETRYABLE),
        (503, None, Outcome.RETRYABLE),
        (504, 504, Outcome.RETRYABLE),
        (302, 302, Outcome.RETRYABLE),  # not an answer Twilio gives
    ],
)
def test_error_answers(status: int, code: int | None, outcome: Outcome) -> None:
    assert outcome_for(status, code) is outcome
    result = result_for_error(7, status, code, "some reason")
    assert (result.delivery_id, result.outcome) == (7, outcome)
    assert result.code == str(code if code is not None else status)
    assert result.provider_id is None


def test_error_detail_never_carries_the_whole_number() -> None:
    result = result_for_error(
        1, 400, 21211, "Unable to create record: The 'To' number +8613812345678 is not valid."
    )
    assert "+8613812345678" not in (result.detail or "")
    assert "+86138****5678" in (result.detail or "")


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        ("accepted", None, None),
        ("scheduled", None, None),
        ("queued", None, None),
        ("sending", None, None),
        ("sent", None, StatusEvent("sent")),
        ("delivered", None, StatusEvent("delivered")),
        ("read", None, StatusEvent("read")),
        ("undelivered", "30003", StatusEvent("failed", "30003")),
        ("failed", "30008", StatusEvent("failed", "30008")),
        ("failed", None, StatusEvent("failed", "failed")),
        ("canceled", None, StatusEvent("failed", "canceled")),
        ("", None, None),
        ("something-new", None, None),
    ],
)
def test_status_callbacks(
    status: str, error_code: str | None, expected: StatusEvent | None
) -> None:
    assert event_for_status(status, error_code) == expected
