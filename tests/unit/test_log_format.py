"""log_format: one JSON object per line, or text; a phone number is never whole in either,
tracebacks included."""

from __future__ import annotations

import json
import logging
import sys

from ewb.bootstrap import JsonLines, MaskedText

PHONE = "+8613812345678"


def _record(exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"refused {PHONE}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.getLogger("ewb.delivery").makeRecord(
        "ewb.delivery", logging.WARNING, __file__, 1, "sms to %s refused", (PHONE,), exc_info
    )
    record.delivery_id, record.channel, record.provider_code = 7, "sms", "21211"
    return record


def test_a_json_line_carries_the_record_and_its_fields_and_no_whole_number() -> None:
    line = JsonLines().format(_record(exc=True))
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "ewb.delivery"
    assert entry["message"] == "sms to +86138****5678 refused"
    assert (entry["delivery_id"], entry["channel"], entry["provider_code"]) == (7, "sms", "21211")
    assert "ValueError" in entry["exception"] and entry["at"].endswith("+00:00")
    assert "13812345678" not in line


def test_text_lines_mask_tracebacks_too() -> None:
    line = MaskedText("%(levelname)s %(message)s").format(_record(exc=True))
    assert line.startswith("WARNING sms to +86138****5678 refused")
    assert "ValueError: refused +86138****5678" in line and "13812345678" not in line
