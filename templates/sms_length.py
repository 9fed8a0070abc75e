"""SMS length: GSM-7 (160 per message, 153 per part) or UCS-2 (70, 67) as carriers count."""

from __future__ import annotations

import math

# GSM 03.38 basic character set, and the extension table (each costs two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)


def units(text: str) -> tuple[str, int]:
    """('gsm7', septets) or ('ucs2', UTF-16 code units) for `text`."""
    if is_gsm7(text):
        return "gsm7", sum(2 if c in _GSM_EXTENSION else 1 for c in text)
    return "ucs2", len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS parts `text` needs (0 for an empty text)."""
    encoding, count = units(text)
    single, part = (160, 153) if encoding == "gsm7" else (70, 67)
    if count == 0:
        return 0
    return 1 if count <= single else math.ceil(count / part)


# Typographic characters outside GSM-7 that would turn an English SMS into UCS-2 (and
# cut each part from 153 to 67 characters) for no gain: their plain equivalents.
_PLAIN = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "\u00a0": " "}
)


def plain(text: str) -> str:
    """`text` with typographic quotes and dashes made plain (Chinese text is unchanged)."""
    return text.translate(_PLAIN)
