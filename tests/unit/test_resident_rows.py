"""Reading a resident from a CSV-form row: normalising, defaults, and one refusal per field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from subscribers.residents import BadResident, Known, Resident, known_from, parse
from tests.support import (
    CHENJIAGANG,
    CHENJIAGANG_VILLAGE,
    COUNTY,
    XIANGSHUI_TOWN,
    area_tree,
    rules,
)
from warning.areas import Area, AreaTree
from warning.grades import Grade

FISHING_HARBOUR = "320921101E02"  # 陈家港渔港, an extra area under 陈家港镇
XIANGSHUI_VILLAGE = "320921100001"  # 东园居委会


def tree_with_harbour() -> AreaTree:
    base = area_tree()
    areas = [a for a in (base.get(c) for c in base.codes()) if a is not None]
    return AreaTree([*areas, Area(FISHING_HARBOUR, "陈家港渔港", CHENJIAGANG, "extra")])


KNOWN = known_from(tree_with_harbour(), rules().catalog.groups)


def row(**overrides: str) -> dict[str, str]:
    """A complete, valid CSV row for a fisherman in a 陈家港镇 village."""
    fields = {
        "external_id": "R-0001",
        "name": "王海生",
        "phone": "138 1234 5678",
        "wechat_openid": "oAbC-123_xyz",
        "locale": "en",
        "area_code": CHENJIAGANG_VILLAGE,
        "groups": "fisherman;elderly",
        "channels": "wechat;sms",
        "min_grade": "yellow",
        "test_recipient": "1",
        "consent_at": "2026-07-01T09:30:00+08:00",
    }
    fields.update(overrides)
    return fields


def test_good_row_with_every_field() -> None:
    assert parse(row(), KNOWN) == Resident(
        external_id="R-0001",
        name="王海生",
        phone="+8613812345678",
        wechat_openid="oAbC-123_xyz",
        locale="en",
        area_code=CHENJIAGANG_VILLAGE,
        groups=("elderly", "fisherman"),
        channels=("wechat", "sms"),
        min_grade=Grade.YELLOW,
        test_recipient=True,
        consent_at=datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))),
    )


def test_fields_are_stripped() -> None:
    resident = parse(
        row(external_id="  R-0002 ", name=" 李娜 ", area_code=f" {XIANGSHUI_VILLAGE} "), KNOWN
    )
    assert (resident.external_id, resident.name, resident.area_code) == (
        "R-0002",
        "李娜",
        XIANGSHUI_VILLAGE,
    )


def test_blank_optional_fields_take_defaults() -> None:
    blank = dict.fromkeys(
        (
            "phone",
            "wechat_openid",
            "locale",
            "groups",
            "channels",
            "min_grade",
            "test_recipient",
            "consent_at",
        ),
        "",
    )
    resident = parse(row(**blank), KNOWN)
    assert resident == Resident(
        external_id="R-0001",
        name="王海生",
        phone=None,
        wechat_openid=None,
        locale="zh-CN",
        area_code=CHENJIAGANG_VILLAGE,
        groups=(),
        channels=("sms", "wechat"),
        min_grade=Grade.BLUE,
        test_recipient=False,
        consent_at=None,
    )


def test_missing_optional_columns_take_defaults() -> None:
    minimal = {"external_id": "R-9", "name": "张三", "area_code": XIANGSHUI_VILLAGE}
    resident = parse(minimal, KNOWN)
    assert (
        resident.locale,
        resident.channels,
        resident.min_grade,
        resident.test_recipient,
        resident.groups,
        resident.consent_at,
    ) == ("zh-CN", ("sms", "wechat"), Grade.BLUE, False, (), None)


@pytest.mark.parametrize(
    ("listed", "order"),
    [
        ("wechat", ("wechat", "sms")),
        ("sms", ("sms", "wechat")),
        ("wechat;sms", ("wechat", "sms")),
        ("sms;wechat", ("sms", "wechat")),
        (" wechat ; wechat ;", ("wechat", "sms")),
        ("", ("sms", "wechat")),
    ],
    ids=["wechat-only", "sms-only", "wechat-first", "sms-first", "repeated", "blank"],
)
def test_channel_order_is_completed_with_the_fallbacks(listed: str, order: tuple[str, ...]) -> None:
    assert parse(row(channels=listed), KNOWN).channels == order


@pytest.mark.parametrize(
    ("listed", "groups"),
    [
        ("fisherman;elderly", ("elderly", "fisherman")),
        ("tourist;elderly;tourist", ("elderly", "tourist")),
        (" disabled ; ;hearing_impaired;disabled ", ("disabled", "hearing_impaired")),
        ("school", ("school",)),
    ],
    ids=["sorted", "deduplicated", "spaces-and-empties", "one"],
)
def test_groups_are_sorted_and_deduplicated(listed: str, groups: tuple[str, ...]) -> None:
    assert parse(row(groups=listed), KNOWN).groups == groups


@pytest.mark.parametrize(
    ("grade", "expected"),
    [("blue", Grade.BLUE), ("yellow", Grade.YELLOW), ("orange", Grade.ORANGE), ("red", Grade.RED)],
    ids=lambda v: str(v),
)
def test_min_grade(grade: str, expected: Grade) -> None:
    assert parse(row(min_grade=grade), KNOWN).min_grade is expected


def test_consent_at_keeps_its_offset() -> None:
    resident = parse(row(consent_at="2026-07-01T01:30:00+00:00"), KNOWN)
    assert resident.consent_at == datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert resident.consent_at is not None
    assert resident.consent_at.utcoffset() == timedelta(0)


# --- areas a resident may live in ------------------------------------------------------------


def test_known_from_holds_everything_but_the_county() -> None:
    tree = tree_with_harbour()
    assert set(KNOWN.areas) == set(tree.codes()) - {COUNTY}
    assert set(KNOWN.groups) == set(rules().catalog.groups)


@pytest.mark.parametrize(
    "area",
    [CHENJIAGANG_VILLAGE, XIANGSHUI_VILLAGE, CHENJIAGANG, XIANGSHUI_TOWN, FISHING_HARBOUR],
    ids=["village", "other-village", "township", "other-township", "extra-harbour"],
)
def test_residents_may_live_below_the_county(area: str) -> None:
    assert parse(row(area_code=area), KNOWN).area_code == area


def test_harbour_is_unknown_without_the_extra_areas() -> None:
    plain = known_from(area_tree(), rules().catalog.groups)
    with pytest.raises(BadResident) as refused:
        parse(row(area_code=FISHING_HARBOUR), plain)
    assert refused.value.field == "area_code"


# --- refusals --------------------------------------------------------------------------------


BAD_ROWS = {
    "empty-external-id": ({"external_id": "  "}, "external_id"),
    "long-external-id": ({"external_id": "x" * 65}, "external_id"),
    "empty-name": ({"name": ""}, "name"),
    "long-name": ({"name": "名" * 101}, "name"),
    "bad-phone": ({"phone": "12345"}, "phone"),
    "unallocated-phone": ({"phone": "+86 15412345678"}, "phone"),
    "words-as-phone": ({"phone": "call me"}, "phone"),
    "short-openid": ({"wechat_openid": "o12"}, "wechat_openid"),
    "openid-with-space": ({"wechat_openid": "oAbC 123456"}, "wechat_openid"),
    "openid-with-symbol": ({"wechat_openid": "oAbC#123456"}, "wechat_openid"),
    "long-openid": ({"wechat_openid": "o" * 65}, "wechat_openid"),
    "unknown-locale": ({"locale": "fr"}, "locale"),
    "locale-case": ({"locale": "zh-cn"}, "locale"),
    "empty-area": ({"area_code": ""}, "area_code"),
    "unknown-area": ({"area_code": "320921999999"}, "area_code"),
    "county-as-area": ({"area_code": COUNTY}, "area_code"),
    "prefecture-as-area": ({"area_code": "320900"}, "area_code"),
    "unknown-group": ({"groups": "fisherman;pilot"}, "groups"),
    "unknown-channel": ({"channels": "sms;fax"}, "channels"),
    "broadcast-is-not-a-resident-channel": ({"channels": "broadcast"}, "channels"),
    "bad-min-grade": ({"min_grade": "purple"}, "min_grade"),
    "roman-min-grade": ({"min_grade": "IV"}, "min_grade"),
    "test-recipient-yes": ({"test_recipient": "yes"}, "test_recipient"),
    "test-recipient-true": ({"test_recipient": "true"}, "test_recipient"),
    "consent-without-offset": ({"consent_at": "2026-07-01T09:30:00"}, "consent_at"),
    "consent-not-a-time": ({"consent_at": "last summer"}, "consent_at"),
}


@pytest.mark.parametrize(("overrides", "field"), BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_bad_rows_name_the_field(overrides: dict[str, str], field: str) -> None:
    with pytest.raises(BadResident) as refused:
        parse(row(**overrides), KNOWN)
    assert refused.value.field == field


def test_unknown_area_message_names_the_code() -> None:
    with pytest.raises(BadResident, match="unknown area 320921"):
        parse(row(area_code=COUNTY), KNOWN)


def test_unknown_group_message_names_the_group() -> None:
    with pytest.raises(BadResident, match="unknown group pilot"):
        parse(row(groups="pilot;fisherman"), KNOWN)


def test_unknown_channel_message_names_the_channel() -> None:
    with pytest.raises(BadResident, match=r"unknown channel fax \(use sms, wechat\)"):
        parse(row(channels="sms;fax"), KNOWN)


def test_known_can_be_built_by_hand() -> None:
    known = Known(areas={XIANGSHUI_VILLAGE}, groups={"elderly"})
    resident = parse(row(area_code=XIANGSHUI_VILLAGE, groups="elderly"), known)
    assert (resident.area_code, resident.groups) == (XIANGSHUI_VILLAGE, ("elderly",))
    with pytest.raises(BadResident) as refused:
        parse(row(area_code=CHENJIAGANG_VILLAGE, groups="elderly"), known)
    assert refused.value.field == "area_code"
