"""Text for the ear: loudspeakers and speech synthesis read numbers as words, not digits."""

from __future__ import annotations

import re

_DIGITS = "零一二三四五六七八九"
# URL characters are ASCII: Chinese text right after a link is not part of it.
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+")


def chinese_number(n: int) -> str:
    """0 → 零, 12 → 十二, 105 → 一百零五, 2000 → 两千 … as spoken (up to 9999)."""
    if n < 10:
        return _DIGITS[n]
    if n >= 10000:
        return "".join(_DIGITS[int(d)] for d in str(n))
    words, zero = [], False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                words.append("零")
            words.append(("两" if digit == 2 and unit in ("千", "百") else _DIGITS[digit]) + unit)
            zero = False
        elif words:
            zero = True
    spoken = "".join(words)
    return spoken[1:] if spoken.startswith("一十") else spoken


def _number(match: re.Match[str]) -> str:
    digits, after = match.group(1), match.group(2)
    if after == "年" or len(digits) > 4:  # years and long numbers are read digit by digit
        return "".join(_DIGITS[int(d)] for d in digits) + after
    return chinese_number(int(digits)) + after


def for_the_ear(text: str, locale: str) -> str:
    """`text` without URLs, and (in Chinese) with numbers written as they are said."""
    text = _URL.sub("", text)
    if locale == "zh-CN":
        text = re.sub(r"(\d+)(年|.?)", _number, text)
        text = text.replace("%", "").replace("～", "至").replace("~", "至")
    return re.sub(r"\s+", " ", text).strip()
