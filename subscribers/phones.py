"""Phone numbers: validated and normalised to E.164 with `phonenumbers`; masked for display."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "CN"


class BadPhone(ValueError):
    """The text is not a valid phone number; the message says why."""


# A mainland mobile number written plainly (with or without +86): the library's text
# parser is skipped (the costly half of validating 600,000 numbers) and the number is
# built directly; validity is still decided by phonenumbers' own metadata.
_CN_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")


def normalise(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (+8613812345678); national numbers are read as `region`."""
    compact = raw.replace(" ", "").replace("-", "")
    plain = _CN_MOBILE.fullmatch(compact)
    if plain and (region == "CN" or compact.startswith("+86")):
        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(plain.group(1)))
    else:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as e:
            raise BadPhone(f"not a phone number: {e}") from None
    if not phonenumbers.is_valid_number(number):
        raise BadPhone("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str | None) -> str | None:
    """+86138****5678: the country code and the first three and last four digits."""
    if not e164:
        return e164
    if e164.startswith("+86") and len(e164) == 14:
        return f"{e164[:6]}****{e164[-4:]}"
    if len(e164) == 11 and e164.startswith("1"):  # a mainland mobile without +86
        return f"{e164[:3]}****{e164[-4:]}"
    return f"{e164[:4]}****{e164[-4:]}" if len(e164) > 8 else "****"


def mask_id(value: str | None) -> str | None:
    """A WeChat/WeCom id with only its first and last four characters shown."""
    if not value:
        return value
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else "****"


# Phone numbers in free text: mainland mobiles with or without 86/+86 and with spaces or
# hyphens, other numbers in E.164, and landlines with an area code (010-12345678). The
# boundaries are ASCII on purpose: Chinese characters around a number do not protect it.
_EDGE_BEFORE = r"(?<![A-Za-z0-9_+*])"
_EDGE_AFTER = r"(?![A-Za-z0-9_*])"
_PHONE_IN_TEXT = re.compile(
    _EDGE_BEFORE
    + r"(?:(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}|\+\d{7,14}|0\d{2,3}-\d{7,8})"
    + _EDGE_AFTER
)


# A "+" URL-encoded (an access log's query string: to=%2B8613912345678).
_ENCODED_PLUS = re.compile(r"%2[Bb](\d{7,14})(?!\d)")


def _mask_match(match: re.Match[str]) -> str:
    return _masked(match.group(0))


def _masked(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not text.startswith("+86"):
        return f"{text[:4]}****{digits[-4:]}"
    if len(digits) == 13 and digits.startswith("861"):
        return f"+86{digits[2:5]}****{digits[-4:]}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{text[:4]}****{digits[-4:]}"


def mask_text(text: str) -> str:
    """`text` with every phone number in it masked (for logs), URL-encoded ones too."""
    text = _ENCODED_PLUS.sub(lambda m: "%2B" + _masked("+" + m.group(1))[1:], text)
    return _PHONE_IN_TEXT.sub(_mask_match, text)
