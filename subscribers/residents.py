"""A resident record, and reading one from a CSV row or an API body (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from subscribers import channels, phones
from warning.areas import AreaTree
from warning.catalog import LOCALES
from warning.grades import Grade, parse_grade

CSV_COLUMNS = (
    "external_id",
    "name",
    "phone",
    "wechat_openid",
    "locale",
    "area_code",
    "groups",
    "channels",
    "min_grade",
    "test_recipient",
)
OPTIONAL_COLUMNS = ("consent_at",)
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")


class BadResident(ValueError):
    """The row or body cannot be stored; `field` names the culprit."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Resident:
    external_id: str
    name: str
    phone: str | None
    wechat_openid: str | None
    locale: str
    area_code: str
    groups: tuple[str, ...]
    channels: tuple[str, ...]  # complete preference order (see channels.complete_order)
    min_grade: Grade
    test_recipient: bool
    consent_at: datetime | None = None


@dataclass(frozen=True)
class Known:
    """What a resident may refer to: areas they can live in, and population groups."""

    areas: Collection[str]
    groups: Collection[str]


def known_from(tree: AreaTree, group_ids: Iterable[str]) -> Known:
    """Residents live in any area but the county itself, and join the catalog's groups."""
    return Known(
        areas=frozenset(c for c in tree.codes() if tree.level(c) != "county"),
        groups=frozenset(group_ids),
    )


def _list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(";") if v.strip()))


def _text(raw: Mapping[str, str], name: str, limit: int, *, required: bool) -> str | None:
    value = (raw.get(name) or "").strip()
    if not value:
        if required:
            raise BadResident(f"{name} is empty", name)
        return None
    if len(value) > limit:
        raise BadResident(f"{name} is longer than {limit} characters", name)
    return value


def parse(raw: Mapping[str, str], known: Known) -> Resident:
    """A resident from text fields as in the CSV format; raises BadResident."""
    external_id = _text(raw, "external_id", 64, required=True)
    name = _text(raw, "name", 100, required=True)
    phone = _text(raw, "phone", 32, required=False)
    if phone is not None:
        try:
            phone = phones.normalise(phone)
        except phones.BadPhone as e:
            raise BadResident(f"phone: {e}", "phone") from None
    openid = _text(raw, "wechat_openid", 64, required=False)
    if openid is not None and not _OPENID.fullmatch(openid):
        raise BadResident("wechat_openid is not a WeChat openid", "wechat_openid")
    locale = _text(raw, "locale", 10, required=False) or "zh-CN"
    if locale not in LOCALES:
        raise BadResident(f"locale must be one of {', '.join(LOCALES)}", "locale")
    area = _text(raw, "area_code", 20, required=True)
    if area not in known.areas:
        raise BadResident(f"unknown area {area}", "area_code")
    groups = tuple(sorted(_list(raw.get("groups") or "")))
    unknown = [g for g in groups if g not in known.groups]
    if unknown:
        raise BadResident(f"unknown group {unknown[0]}", "groups")
    listed = _list(raw.get("channels") or "")
    bad = [c for c in listed if c not in channels.BY_ID]
    if bad:
        raise BadResident(
            f"unknown channel {bad[0]} (use {', '.join(channels.DEFAULT_ORDER)})", "channels"
        )
    grade_text = (raw.get("min_grade") or "").strip() or "blue"
    grade = parse_grade(grade_text)
    if grade is None:
        raise BadResident("min_grade must be blue, yellow, orange or red", "min_grade")
    flag = (raw.get("test_recipient") or "").strip() or "0"
    if flag not in ("0", "1"):
        raise BadResident("test_recipient must be 0 or 1", "test_recipient")
    consent = _consent(raw.get("consent_at") or "")
    assert external_id is not None and name is not None and area is not None
    return Resident(
        external_id=external_id,
        name=name,
        phone=phone,
        wechat_openid=openid,
        locale=locale,
        area_code=area,
        groups=groups,
        channels=channels.complete_order(listed),
        min_grade=grade,
        test_recipient=flag == "1",
        consent_at=consent,
    )


def _consent(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadResident("consent_at must be an ISO 8601 time", "consent_at") from None
    if moment.tzinfo is None:
        raise BadResident("consent_at must carry a timezone offset", "consent_at")
    return moment
