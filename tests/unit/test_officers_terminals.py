"""Disaster information officers and broadcast terminals read from CSV rows; who serves where."""

from __future__ import annotations

import pytest

from subscribers.officers import Officer, parse_officers, serves, villages_without_officer
from subscribers.terminals import Terminal, parse_terminals
from tests.support import CHENJIAGANG, CHENJIAGANG_VILLAGE, COUNTY, XIANGSHUI_TOWN, area_tree
from warning.areas import Area, AreaTree

XIANGSHUI_VILLAGE = "320921100001"  # 东园居委会, in 响水镇
CHENJIAGANG_VILLAGE_2 = "320921101002"  # 大湾居委会, in 陈家港镇
VILLAGE_JETTY = "320921101001E1"  # an extra area made for these tests, inside 海安居委会


def tree_with_jetty() -> AreaTree:
    base = area_tree()
    areas = [a for a in (base.get(c) for c in base.codes()) if a is not None]
    return AreaTree([*areas, Area(VILLAGE_JETTY, "海安码头", CHENJIAGANG_VILLAGE, "extra")])


TREE = tree_with_jetty()
VILLAGES = [
    a for a in (TREE.get(c) for c in TREE.codes()) if a is not None and a.level == "village"
]


def numbered(*rows: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    """CSV rows numbered as in the file: the header is line 1."""
    return list(enumerate(rows, start=2))


# --- officers -------------------------------------------------------------------------------


def officer_row(**overrides: str) -> dict[str, str]:
    fields = {
        "username": "officer_320921101001",
        "name": "朱斌",
        "phone": "137 5135 7009",
        "wecom_id": "wx_officer_320921101001",
        "areas": CHENJIAGANG_VILLAGE,
    }
    fields.update(overrides)
    return fields


def test_parse_officers_good_rows() -> None:
    officers, errors = parse_officers(
        numbered(
            officer_row(),
            officer_row(
                username="li.na-2",
                name=" 李娜 ",
                phone="+8618781008204",
                wecom_id="",
                areas=f" {XIANGSHUI_VILLAGE} ; {CHENJIAGANG} ;",
            ),
        ),
        TREE,
    )
    assert errors == []
    assert officers == [
        Officer(
            "officer_320921101001",
            "朱斌",
            "+8613751357009",
            "wx_officer_320921101001",
            frozenset({CHENJIAGANG_VILLAGE}),
        ),
        Officer(
            "li.na-2", "李娜", "+8618781008204", None, frozenset({XIANGSHUI_VILLAGE, CHENJIAGANG})
        ),
    ]


BAD_OFFICERS = {
    "bad-phone": ({"phone": "12345"}, "phone: not a valid phone number"),
    "empty-phone": ({"phone": ""}, "phone: not a phone number"),
    "unknown-area": ({"areas": "320921999999"}, "unknown areas: 320921999999"),
    "one-unknown-of-two": (
        {"areas": f"{CHENJIAGANG_VILLAGE};nowhere"},
        "unknown areas: nowhere",
    ),
    "no-area": ({"areas": " ; "}, "unknown areas: (none given)"),
    "username-with-space": (
        {"username": "zhu bin"},
        "username must be 1-64 letters, digits, '.', '_' or '-'",
    ),
    "username-chinese": (
        {"username": "朱斌"},
        "username must be 1-64 letters, digits, '.', '_' or '-'",
    ),
    "username-empty": ({"username": ""}, "username must be 1-64 letters, digits, '.', '_' or '-'"),
    "username-too-long": (
        {"username": "u" * 65},
        "username must be 1-64 letters, digits, '.', '_' or '-'",
    ),
    "empty-name": ({"name": " "}, "name is empty or longer than 100 characters"),
}


@pytest.mark.parametrize(("overrides", "problem"), BAD_OFFICERS.values(), ids=BAD_OFFICERS.keys())
def test_parse_officers_bad_row(overrides: dict[str, str], problem: str) -> None:
    good = officer_row(username="good_one")
    officers, errors = parse_officers(numbered(good, officer_row(**overrides)), TREE)
    assert len(errors) == 1
    assert errors[0].startswith(f"line 3: {problem}")
    assert [o.username for o in officers] == ["good_one"]


def test_parse_officers_duplicate_username_keeps_the_first() -> None:
    officers, errors = parse_officers(
        numbered(
            officer_row(),
            officer_row(username="other"),
            officer_row(areas=XIANGSHUI_VILLAGE),
        ),
        TREE,
    )
    assert errors == ["line 4: officer officer_320921101001 appears again"]
    assert [(o.username, o.areas) for o in officers] == [
        ("officer_320921101001", frozenset({CHENJIAGANG_VILLAGE})),
        ("other", frozenset({CHENJIAGANG_VILLAGE})),
    ]


def uncovered(*served: str) -> set[str]:
    """Codes of the villages left without an officer when each argument is one officer's area."""
    return {
        v.code for v in villages_without_officer(VILLAGES, [frozenset({a}) for a in served], TREE)
    }


def test_nobody_serves_every_village_is_uncovered() -> None:
    assert uncovered() == {v.code for v in VILLAGES}
    assert len(VILLAGES) == 167  # 179 divisions: the county, 11 townships


def test_a_village_officer_covers_that_village_only() -> None:
    assert uncovered(CHENJIAGANG_VILLAGE) == {v.code for v in VILLAGES} - {CHENJIAGANG_VILLAGE}


def test_a_town_officer_covers_none_of_its_villages() -> None:
    assert uncovered(CHENJIAGANG) == {v.code for v in VILLAGES}
    assert uncovered(COUNTY) == {v.code for v in VILLAGES}


def test_an_officer_of_an_extra_area_inside_a_village_covers_the_village() -> None:
    assert uncovered(VILLAGE_JETTY) == {v.code for v in VILLAGES} - {CHENJIAGANG_VILLAGE}


def test_an_officer_with_several_villages_covers_each() -> None:
    both = frozenset({CHENJIAGANG_VILLAGE, XIANGSHUI_VILLAGE})
    left = villages_without_officer(VILLAGES, [both], TREE)
    assert {v.code for v in left} == {v.code for v in VILLAGES} - both


def test_villages_without_officer_keeps_the_given_order() -> None:
    given = [TREE.get(CHENJIAGANG_VILLAGE_2), TREE.get(XIANGSHUI_VILLAGE)]
    villages = [v for v in given if v is not None]
    assert villages_without_officer(villages, [], TREE) == villages


SERVES = {
    "village-officer-town-warning": ([CHENJIAGANG_VILLAGE], [CHENJIAGANG], True),
    "village-officer-county-warning": ([CHENJIAGANG_VILLAGE], [COUNTY], True),
    "town-officer-village-warning": ([CHENJIAGANG], [CHENJIAGANG_VILLAGE], True),
    "same-village": ([CHENJIAGANG_VILLAGE], [CHENJIAGANG_VILLAGE], True),
    "jetty-officer-village-warning": ([VILLAGE_JETTY], [CHENJIAGANG_VILLAGE], True),
    "other-town": ([XIANGSHUI_TOWN], [CHENJIAGANG], False),
    "other-town-officer-village-warning": ([XIANGSHUI_TOWN], [CHENJIAGANG_VILLAGE], False),
    "neighbour-village": ([CHENJIAGANG_VILLAGE], [CHENJIAGANG_VILLAGE_2], False),
    "one-of-two-areas": ([XIANGSHUI_VILLAGE, CHENJIAGANG_VILLAGE], [CHENJIAGANG], True),
    "no-targets": ([CHENJIAGANG_VILLAGE], [], False),
}


@pytest.mark.parametrize(("mine", "targets", "expected"), SERVES.values(), ids=SERVES.keys())
def test_serves(mine: list[str], targets: list[str], expected: bool) -> None:
    assert serves(mine, targets, TREE) is expected


# --- terminals ------------------------------------------------------------------------------

AREA_CODES = frozenset(TREE.codes())


def terminal_row(**overrides: str) -> dict[str, str]:
    fields = {
        "terminal_id": "T320921101001-1",
        "name": "海安居委会IP音柱1",
        "area_code": CHENJIAGANG_VILLAGE,
        "endpoint_id": "33209211010010314010000",
        "covered_population": "1200",
        "status": "online",
    }
    fields.update(overrides)
    return fields


def test_parse_terminals_good_rows() -> None:
    terminals, errors = parse_terminals(
        numbered(
            terminal_row(),
            terminal_row(
                terminal_id="T320921101001-2",
                name="海安居委会IP音柱2",
                endpoint_id="33209211010010314020000",
                covered_population="",
                status="offline",
            ),
            terminal_row(
                terminal_id="T-jetty",
                name="码头喇叭",
                area_code=VILLAGE_JETTY,
                endpoint_id="E-jetty",
                covered_population=" 0 ",
                status="",
            ),
        ),
        AREA_CODES,
    )
    assert errors == []
    assert terminals == [
        Terminal(
            "T320921101001-1",
            "海安居委会IP音柱1",
            CHENJIAGANG_VILLAGE,
            "33209211010010314010000",
            1200,
            "online",
        ),
        Terminal(
            "T320921101001-2",
            "海安居委会IP音柱2",
            CHENJIAGANG_VILLAGE,
            "33209211010010314020000",
            None,
            "offline",
        ),
        Terminal("T-jetty", "码头喇叭", VILLAGE_JETTY, "E-jetty", 0, "offline"),
    ]


BAD_TERMINALS = {
    "bad-status": ({"status": "broken"}, "status must be one of online, offline"),
    "status-case": ({"status": "Online"}, "status must be one of online, offline"),
    "unknown-area": ({"area_code": "320921999999"}, "unknown area '320921999999'"),
    "empty-area": ({"area_code": ""}, "unknown area ''"),
    "empty-terminal-id": (
        {"terminal_id": ""},
        "terminal_id is empty or longer than 40 characters",
    ),
    "empty-endpoint": ({"endpoint_id": ""}, "endpoint_id is empty or longer than 64 characters"),
    "negative-covered": (
        {"covered_population": "-5"},
        "covered_population must be a whole number or empty",
    ),
    "decimal-covered": (
        {"covered_population": "12.5"},
        "covered_population must be a whole number or empty",
    ),
    # str.isdigit() accepts "²", which int() then refuses: the row must be reported, not crash.
    "superscript-covered": (
        {"covered_population": "²"},
        "covered_population must be a whole number or empty",
    ),
}


@pytest.mark.parametrize(("overrides", "problem"), BAD_TERMINALS.values(), ids=BAD_TERMINALS.keys())
def test_parse_terminals_bad_row(overrides: dict[str, str], problem: str) -> None:
    good = terminal_row(terminal_id="T-good", endpoint_id="E-good")
    terminals, errors = parse_terminals(numbered(good, terminal_row(**overrides)), AREA_CODES)
    assert errors == [f"line 3: {problem}"]
    assert [t.id for t in terminals] == ["T-good"]


def test_parse_terminals_duplicate_terminal_id() -> None:
    terminals, errors = parse_terminals(
        numbered(terminal_row(), terminal_row(endpoint_id="E-other")), AREA_CODES
    )
    assert errors == ["line 3: terminal T320921101001-1 appears again"]
    assert [(t.id, t.endpoint_id) for t in terminals] == [
        ("T320921101001-1", "33209211010010314010000")
    ]


def test_parse_terminals_duplicate_endpoint_id() -> None:
    terminals, errors = parse_terminals(
        numbered(terminal_row(), terminal_row(terminal_id="T-other")), AREA_CODES
    )
    assert errors == ["line 3: endpoint 33209211010010314010000 appears again"]
    assert [t.id for t in terminals] == ["T320921101001-1"]


def test_a_refused_row_does_not_claim_its_ids() -> None:
    terminals, errors = parse_terminals(
        numbered(terminal_row(status="broken"), terminal_row()), AREA_CODES
    )
    assert errors == ["line 2: status must be one of online, offline"]
    assert [t.id for t in terminals] == ["T320921101001-1"]
