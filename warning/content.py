"""What a version says (hazard, grade, areas, times, text), parsed and checked from plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from warning.catalog import LOCALES
from warning.errors import InvalidInput
from warning.grades import Grade, parse_grade
from warning.model import Mode, Texts, Version
from warning.rules import Rules

TEXT_FIELDS = ("headline", "description", "instruction")
TEXT_LIMITS = {"headline": 200, "description": 4000, "instruction": 4000}


@dataclass(frozen=True)
class Content:
    hazard: str
    grade: Grade
    areas: tuple[str, ...]
    groups: tuple[str, ...]
    onset: datetime
    expires: datetime
    mode: Mode
    headline: Texts
    description: Texts
    instruction: Texts

    @classmethod
    def of(cls, version: Version) -> Content:
        """The content of an existing version."""
        return cls(**{f.name: getattr(version, f.name) for f in fields(cls)})


FIELD_NAMES = frozenset(f.name for f in fields(Content))
REQUIRED = ("hazard", "grade", "areas", "onset", "expires")


def _text(name: str, value: Any) -> Texts:
    if value is None:
        return {}
    if isinstance(value, str):
        value = {"zh-CN": value}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be a string or an object of locale: text", field=name)
    texts: Texts = {}
    for locale, text in value.items():
        if locale not in LOCALES:
            raise InvalidInput(
                f"{name}: unknown locale {locale!r}; use {', '.join(LOCALES)}", field=name
            )
        if not isinstance(text, str):
            raise InvalidInput(f"{name}.{locale} must be a string", field=name)
        if len(text) > TEXT_LIMITS[name]:
            raise InvalidInput(f"{name} is longer than {TEXT_LIMITS[name]} characters", field=name)
        if text.strip():
            texts[locale] = text.strip()
    return texts


def _time(name: str, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{name} must be an ISO 8601 time such as 2026-07-28T08:00:00+08:00", field=name
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{name} must be an ISO 8601 time", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must carry a timezone offset, e.g. +08:00", field=name)
    return value


def _codes(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{name} must be a list of strings", field=name)
    return tuple(dict.fromkeys(v.strip() for v in value))


def _convert(name: str, value: Any) -> Any:
    if name in TEXT_FIELDS:
        return _text(name, value)
    if name in ("onset", "expires"):
        return _time(name, value)
    if name in ("areas", "groups"):
        return _codes(name, value)
    if name == "grade":
        grade = parse_grade(value)
        if grade is None:
            raise InvalidInput(
                f"grade must be one of {', '.join(g.value for g in Grade)}", field="grade"
            )
        return grade
    if name == "mode":
        try:
            return Mode(value)
        except ValueError:
            raise InvalidInput(
                f"mode must be one of {', '.join(m.value for m in Mode)}", field="mode"
            ) from None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    return value


def parse(raw: Mapping[str, Any], *, base: Content | None = None) -> Content:
    """Content from JSON-like data; with `base`, only the given fields change."""
    unknown = sorted(set(raw) - FIELD_NAMES)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    values = {name: _convert(name, value) for name, value in raw.items()}
    if base is not None:
        return replace(base, **values)
    missing = [name for name in REQUIRED if raw.get(name) in (None, "", [])]
    if missing:
        raise InvalidInput(f"{missing[0]} is required", field=missing[0])
    values.setdefault("mode", Mode.ACTUAL)
    values.setdefault("groups", ())
    for name in TEXT_FIELDS:
        values.setdefault(name, {})
    return Content(**values)


def check(content: Content, rules: Rules, now: datetime) -> None:
    """Raise InvalidInput, naming the field, unless the content may be drafted."""
    hazard = rules.catalog.hazard(content.hazard)
    if content.grade not in hazard.grades:
        have = ", ".join(g.value for g in hazard.grades)
        raise InvalidInput(
            f"{hazard.id} ({hazard.name['zh-CN']}) has no {content.grade.value} grade;"
            f" its grades are {have}",
            field="grade",
        )
    if not content.areas:
        raise InvalidInput("areas must name at least one area", field="areas")
    unknown = [code for code in content.areas if code not in rules.areas]
    if unknown:
        raise InvalidInput(f"unknown area codes: {', '.join(unknown)}", field="areas")
    bad_groups = [g for g in content.groups if g not in rules.catalog.groups]
    if bad_groups:
        known = ", ".join(rules.catalog.groups)
        raise InvalidInput(
            f"unknown population groups: {', '.join(bad_groups)}; known: {known}", field="groups"
        )
    if content.expires <= content.onset:
        raise InvalidInput("expires must be after onset", field="expires")
    longest = rules.policy.max_duration
    if content.expires - content.onset > longest:
        raise InvalidInput(
            f"expires must be at most {longest.days} days after onset", field="expires"
        )
    if content.expires <= now:
        raise InvalidInput("expires is already in the past", field="expires")
