"""Phone numbers: normalising to E.164, refusing non-numbers, and masking for display and logs."""

from __future__ import annotations

import random

import pytest

from subscribers.phones import BadPhone, mask, mask_id, mask_text, normalise


def seven_digit_runs(e164: str) -> set[str]:
    """Every run of 7 consecutive digits of the number (country code included)."""
    digits = "".join(c for c in e164 if c.isdigit())
    return {digits[i : i + 7] for i in range(len(digits) - 6)}


def leaked(e164: str, text: str | None) -> set[str]:
    assert text is not None
    return {run for run in seven_digit_runs(e164) if run in text}


# --- normalise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("86-138-1234-5678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("+8613812345678", "+8613812345678"),
        ("+1 650 253 0000", "+16502530000"),
        ("010-12345678", "+861012345678"),
        ("(010) 1234 5678", "+861012345678"),
    ],
    ids=[
        "mobile-plain",
        "mobile-+86-spaced",
        "mobile-86-dashed",
        "mobile-86-compact",
        "mobile-e164",
        "us-spaced",
        "beijing-landline-dashed",
        "beijing-landline-parens",
    ],
)
def test_normalise_gives_e164(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize(
    "raw",
    ["12345", "+86 15412345678", "15412345678", "hello", ""],
    ids=["too-short", "unallocated-154-with-86", "unallocated-154", "words", "empty"],
)
def test_normalise_refuses(raw: str) -> None:
    with pytest.raises(BadPhone):
        normalise(raw)


def test_bad_phone_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalise("+86 15412345678")


# --- mask and mask_id ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8613812345678", "+86138****5678"),
        ("13812345678", "138****5678"),
        ("+16502530000", "+165****0000"),
        ("+442079460958", "+442****0958"),
        ("+861012345678", "+861****5678"),
        (None, None),
        ("", ""),
    ],
    ids=["cn-mobile", "cn-mobile-national", "us", "uk", "cn-landline", "none", "empty"],
)
def test_mask(value: str | None, masked: str | None) -> None:
    assert mask(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("oAbCdEfGhIjKlMnOpQrStUvWxYz0", "oAbC****xYz0"),
        ("wx_officer_320921100001", "wx_o****0001"),
        ("123456789", "1234****6789"),
        ("12345678", "****"),
        ("short", "****"),
        (None, None),
        ("", ""),
    ],
    ids=["openid", "wecom-id", "nine-chars", "eight-chars", "short", "none", "empty"],
)
def test_mask_id(value: str | None, masked: str | None) -> None:
    assert mask_id(value) == masked


# --- mask_text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "SMS to +8613812345678 failed",
            "SMS to +86138****5678 failed",
        ),
        (
            "SMS to 13812345678 failed",
            "SMS to 138****5678 failed",
        ),
        (
            "retry +8613812345678, 13912345678 and +16502530000.",
            "retry +86138****5678, 139****5678 and +165****0000.",
        ),
        (
            "phone=13812345678;",
            "phone=138****5678;",
        ),
        (
            "手机：13812345678，已退订",
            "手机：138****5678，已退订",
        ),
        (
            'POST /webhooks/twilio/status?To=%2B8613812345678&From=%2b16502530000 HTTP/1.1"',
            'POST /webhooks/twilio/status?To=%2B86138****5678&From=%2B165****0000 HTTP/1.1"',
        ),
    ],
    ids=["e164", "national", "several", "key-value", "fullwidth-punctuation", "url-encoded"],
)
def test_mask_text_masks_phone_numbers(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "warning 32092141600000_20260728080000_0001 issued",
        "references 32092141600000_20260728080000_0001,32092141600000_20260728090000_0002",
        "resident 320921198807281234 imported",  # an 18-digit id-card-like number
        "endpoint 33209211000010314010000 online",
        "area 320921101001 and 320921101205",
        "issued on 20260728 at 2026-07-28T08:00:00+08:00",
        "wecom wx_officer_320921100001",
        "delivery 13812345678901 done",  # 14 digits: an id, not a phone
    ],
    ids=[
        "cap-identifier",
        "cap-references",
        "id-card",
        "terminal-endpoint",
        "area-codes",
        "dates",
        "wecom-id",
        "long-numeric-id",
    ],
)
def test_mask_text_leaves_identifiers_and_dates_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("向13812345678发送失败", "向138****5678发送失败"),
        ("号码+8613812345678已退订", "号码+86138****5678已退订"),
        ("电话13812345678", "电话138****5678"),
        ("13812345678回复TD", "138****5678回复TD"),
    ],
    ids=["national-inside-chinese", "e164-inside-chinese", "after-chinese", "before-chinese"],
)
def test_mask_text_masks_numbers_written_against_chinese_text(text: str, masked: str) -> None:
    # Log lines in this service are Chinese; Python's \w matches CJK characters, so a number
    # that touches a Chinese character must still count as "standing alone".
    assert mask_text(text) == masked


def _mobiles(count: int) -> list[str]:
    """Valid mainland mobile numbers in E.164, drawn from a fixed seed."""
    rng = random.Random(20260728)
    found: list[str] = []
    while len(found) < count:
        raw = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        try:
            found.append(normalise(raw))
        except BadPhone:
            continue
    return found


MOBILES = _mobiles(200)
OTHERS = ["+16502530000", "+442079460958", "+861012345678", "+8675512345678"]


def test_the_sample_is_varied() -> None:
    assert len(set(MOBILES)) == 200
    assert {m[3:5] for m in MOBILES} >= {"13", "15", "18"}


@pytest.mark.parametrize("e164", MOBILES + OTHERS)
def test_no_seven_digit_run_survives_mask(e164: str) -> None:
    assert leaked(e164, mask(e164)) == set()
    if e164.startswith("+861") and len(e164) == 14:  # a mobile: also its national form
        assert leaked(e164, mask(e164[3:])) == set()


@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "SMS to {} failed: 429",
        "({})",
        "to={};retry",
        "手机：{}，失败",
        "warning 32092141600000_20260728080000_0001 to {} at 2026-07-28",
    ],
    ids=["alone", "sentence", "parens", "key-value", "fullwidth", "with-cap-id"],
)
def test_no_seven_digit_run_survives_mask_text(template: str) -> None:
    for e164 in MOBILES + OTHERS:
        forms = [e164]
        if e164.startswith("+861") and len(e164) == 14:
            forms.append(e164[3:])  # a mobile's national form, as residents type it
        for form in forms:
            masked = mask_text(template.format(form))
            assert leaked(e164, masked) == set(), (form, masked)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to 8613812345678 now", "to +86138****5678 now"),
        ("to +86 138 1234 5678 now", "to +86138****5678 now"),
        ("to 86-138-1234-5678 now", "to +86138****5678 now"),
        ("office 010-12345678", "office 010-****5678"),
    ],
    ids=["86-without-plus", "spaced", "hyphenated", "landline"],
)
def test_mask_text_masks_other_written_forms(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_the_log_filter_masks_numbers_passed_as_arguments() -> None:
    import io
    import logging

    from ewb.bootstrap import MaskPhones

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPhones())
    log = logging.getLogger("ewb.test.masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("SMS to %s refused (%s)", "+8613812345678", "向13912345678重发")
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == "SMS to +86138****5678 refused (向139****5678重发)\n"
