"""CAP 1.2 export of issued versions (checked against the OASIS schema) and CAP import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from config.data import CapSchemaError, cap_validator
from tests.support import (
    CHENJIAGANG,
    CHENJIAGANG_VILLAGE,
    NOW,
    XIANGSHUI_TOWN,
    actor,
    draft_body,
    rules,
)
from warning import cap, commands
from warning.actors import Role
from warning.errors import InvalidInput
from warning.model import State, Warning

RULES = rules()
VALIDATE = cap_validator()
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}

# County-wide actors of the county government, who may act on every hazard.
FORECASTER = actor("fang", Role.FORECASTER, "county")
CHIEF = actor("zhou", Role.DUTY_CHIEF, "county")
LEADER = actor("li", Role.LEADER, "county")
LATER = NOW + timedelta(hours=1)


def release(warning: Warning, at: datetime, sequence: int) -> None:
    """Submit, approve (duty chief, then a leader where the policy asks) and issue."""
    commands.submit(warning, FORECASTER, RULES, at)
    commands.approve(warning, CHIEF, RULES, at)
    if warning.latest.state is State.SUBMITTED:
        commands.approve(warning, LEADER, RULES, at)
    commands.issue(warning, FORECASTER, RULES, at, sequence)


def issued(**overrides: Any) -> Warning:
    warning, _ = commands.draft(draft_body(**overrides), FORECASTER, RULES, NOW)
    release(warning, NOW, 1)
    return warning


def revised(kind: str, raw: dict[str, Any]) -> Warning:
    warning = issued(grade="yellow")
    commands.revise(warning, kind, raw, FORECASTER, RULES, LATER)
    release(warning, LATER, 2)
    return warning


def export(warning: Warning) -> tuple[bytes, etree._Element]:
    document = cap.to_cap(warning, warning.latest, RULES)
    return document, etree.fromstring(document)


def texts_of(root: etree._Element, path: str) -> list[str]:
    return [e.text for e in root.findall(path, NS)]


# Every kind of issued version, with the CAP msgType it must carry.
VERSIONS = [
    pytest.param(lambda: issued(grade="red"), "Alert", id="alert"),
    pytest.param(lambda: revised("update", {"areas": [XIANGSHUI_TOWN]}), "Update", id="update"),
    pytest.param(lambda: revised("escalate", {"grade": "orange"}), "Update", id="escalate"),
    pytest.param(lambda: revised("downgrade", {"grade": "blue"}), "Update", id="downgrade"),
    pytest.param(lambda: revised("cancel", {}), "Cancel", id="cancel"),
    pytest.param(lambda: issued(mode="exercise"), "Alert", id="exercise"),
]


@pytest.mark.parametrize(("make", "msg_type"), VERSIONS)
def test_export_is_valid_cap(make: Callable[[], Warning], msg_type: str) -> None:
    warning = make()
    document, root = export(warning)
    version = warning.latest

    VALIDATE(document)  # raises CapSchemaError if the schema refuses it

    assert root.findtext("cap:identifier", namespaces=NS) == version.cap_identifier
    assert root.findtext("cap:sender", namespaces=NS) == "xiangshui.weather@ewb"
    assert root.findtext("cap:msgType", namespaces=NS) == msg_type
    assert root.findtext("cap:sent", namespaces=NS).endswith("+08:00")
    for tag in ("effective", "onset", "expires"):
        assert all(t.endswith("+08:00") for t in texts_of(root, f"cap:info/cap:{tag}"))

    assert texts_of(root, "cap:info/cap:language") == ["zh-CN", "en"]
    for info in root.findall("cap:info", NS):
        geocodes = texts_of(info, "cap:area/cap:geocode/cap:value")
        assert geocodes == list(version.areas)

    references = root.findtext("cap:references", namespaces=NS)
    if msg_type == "Alert":
        assert references is None
    else:
        v1 = warning.versions[0]
        assert references == f"xiangshui.weather@ewb,{v1.cap_identifier},2026-07-28T08:00:00+08:00"


def test_area_descriptions_are_in_the_language_of_their_info() -> None:
    document, root = export(issued(areas=[CHENJIAGANG, CHENJIAGANG_VILLAGE]))
    VALIDATE(document)
    by_language = {
        info.findtext("cap:language", namespaces=NS): texts_of(info, "cap:area/cap:areaDesc")
        for info in root.findall("cap:info", NS)
    }
    assert by_language == {
        "zh-CN": ["陈家港镇", "海安居委会"],
        "en": ["Chenjiagang Town", "Haian Community"],
    }


def test_exercise_is_marked_in_status_and_note() -> None:
    _, root = export(issued(mode="exercise"))
    assert root.findtext("cap:status", namespaces=NS) == "Exercise"
    assert "not a real warning" in root.findtext("cap:note", namespaces=NS)
    assert all(
        h.startswith(("【演练】", "[EXERCISE]")) for h in texts_of(root, "cap:info/cap:headline")
    )


def test_cancel_is_an_all_clear() -> None:
    _, root = export(revised("cancel", {}))
    assert texts_of(root, "cap:info/cap:responseType") == ["AllClear", "AllClear"]
    assert texts_of(root, "cap:info/cap:urgency") == ["Past", "Past"]


BROKEN = [
    pytest.param(
        lambda d: d.replace(b"<msgType>Alert</msgType>", b"<msgType>Memo</msgType>"),
        id="bad-msgType",
    ),
    pytest.param(lambda d: d.replace(b"<scope>Public</scope>", b""), id="no-scope"),
    pytest.param(lambda d: d.replace(b"+08:00</sent>", b"Z</sent>"), id="sent-in-utc-Z"),
    pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
]


@pytest.mark.parametrize("damage", BROKEN)
def test_validator_refuses_a_broken_document(damage: Callable[[bytes], bytes]) -> None:
    document, _ = export(issued(grade="blue"))
    VALIDATE(document)
    broken = damage(document)
    assert broken != document
    with pytest.raises(CapSchemaError):
        VALIDATE(broken)


def test_only_issued_versions_export() -> None:
    warning, _ = commands.draft(draft_body(), FORECASTER, RULES, NOW)
    with pytest.raises(InvalidInput) as refused:
        cap.to_cap(warning, warning.latest, RULES)
    assert refused.value.field == "version"


# --- Import ---

ROUND_TRIPS = [
    pytest.param({"hazard": "typhoon", "grade": "red"}, id="typhoon-red-actual"),
    pytest.param(
        {"hazard": "storm_surge", "grade": "yellow", "mode": "exercise"}, id="storm_surge-exercise"
    ),
    pytest.param(
        {"hazard": "flood", "grade": "blue", "mode": "test", "areas": [CHENJIAGANG_VILLAGE]},
        id="flood-test-village",
    ),
    pytest.param(
        {"hazard": "thunderstorm", "grade": "orange", "areas": [CHENJIAGANG]}, id="lightning"
    ),
]


@pytest.mark.parametrize("body", ROUND_TRIPS)
def test_read_alert_gives_back_what_was_exported(body: dict[str, Any]) -> None:
    warning = issued(**body)
    version = warning.latest
    document, _ = export(warning)
    VALIDATE(document)

    raw = cap.read_alert(document, RULES.catalog)

    assert raw["hazard"] == version.hazard
    assert raw["grade"] == version.grade.value
    assert raw["areas"] == list(version.areas)
    assert raw["mode"] == version.mode.value
    # The fields are what `draft` takes: the import drafts cleanly.
    again, _ = commands.draft(raw, FORECASTER, RULES, NOW)
    assert again.latest.onset == version.onset
    assert again.latest.expires == version.expires


def test_read_alert_refuses_an_update() -> None:
    document, _ = export(revised("update", {"areas": [XIANGSHUI_TOWN]}))
    with pytest.raises(InvalidInput) as refused:
        cap.read_alert(document, RULES.catalog)
    assert refused.value.field == "msgType"


def test_read_alert_refuses_an_unknown_event() -> None:
    _, root = export(issued(grade="blue"))
    for info in root.findall("cap:info", NS):
        for code in info.findall("cap:eventCode", NS):
            info.remove(code)
        info.find("cap:event", NS).text = "火山喷发"
    foreign = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    VALIDATE(foreign)  # still valid CAP: eventCode is optional

    with pytest.raises(InvalidInput) as refused:
        cap.read_alert(foreign, RULES.catalog)
    assert refused.value.field == "event"
