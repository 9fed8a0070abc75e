"""The four warning grades, China's colour signals, lowest first."""

from __future__ import annotations

from enum import StrEnum


class Grade(StrEnum):
    """Blue (IV) < yellow (III) < orange (II) < red (I)."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """1 for blue up to 4 for red."""
        return _ORDER.index(self) + 1

    @property
    def name_zh(self) -> str:
        return _NAMES[self][0]

    @property
    def name_en(self) -> str:
        return _NAMES[self][1]

    @property
    def level(self) -> str:
        """Roman level used in Chinese plans: IV for blue … I for red."""
        return _NAMES[self][2]

    @property
    def cap_severity(self) -> str:
        return _NAMES[self][3]


_ORDER = [Grade.BLUE, Grade.YELLOW, Grade.ORANGE, Grade.RED]

# colour word (zh), colour word (en), level, CAP severity
_NAMES = {
    Grade.BLUE: ("蓝色", "Blue", "Ⅳ级（一般）", "Minor"),
    Grade.YELLOW: ("黄色", "Yellow", "Ⅲ级（较重）", "Moderate"),
    Grade.ORANGE: ("橙色", "Orange", "Ⅱ级（严重）", "Severe"),
    Grade.RED: ("红色", "Red", "Ⅰ级（特别严重）", "Extreme"),
}

SEVERITY_TO_GRADE = {names[3]: grade for grade, names in _NAMES.items()}


def parse_grade(value: object) -> Grade | None:
    """The grade named by `value`, or None if it names none."""
    if not isinstance(value, str):
        return None
    try:
        return Grade(value)
    except ValueError:
        return None
