"""OASIS CAP 1.2: export an issued version, and read an upstream alert into draft fields.

Built and read with the standard library's ElementTree. Schema validation is done by
the caller (config.schemas) before `read_alert` sees the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from warning import texts
from warning.catalog import LOCALES, Catalog
from warning.errors import InvalidInput
from warning.grades import SEVERITY_TO_GRADE
from warning.identifiers import cap_time
from warning.model import Kind, Mode, Version, Warning
from warning.rules import Rules

NS = "urn:oasis:names:tc:emergency:cap:1.2"
EVENT_CODE_NAME = "GB/T 35965.1"  # national event type code, e.g. 11B01 for typhoon
HAZARD_CODE_NAME = "ewb:hazard"
GRADE_PARAMETER = "ewb:grade"
GEOCODE_NAME = "GB/T 2260"  # 6-digit county codes; township/village codes extend them

ET.register_namespace("", NS)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _value_pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    pair = _sub(parent, tag)
    _sub(pair, "valueName", name)
    _sub(pair, "value", value)


def _info(alert: ET.Element, version: Version, rules: Rules, locale: str) -> None:
    hazard = rules.catalog.hazard(version.hazard)
    org = rules.catalog.organisation(hazard.org)
    assert version.issued_at is not None
    info = _sub(alert, "info")
    _sub(info, "language", locale)
    _sub(info, "category", hazard.cap_category)
    _sub(info, "event", hazard.name[locale])
    if version.is_cancel:
        _sub(info, "responseType", "AllClear")
        _sub(info, "urgency", "Past")
    else:
        _sub(info, "urgency", "Immediate" if version.onset <= version.issued_at else "Expected")
    _sub(info, "severity", version.grade.cap_severity)
    _sub(info, "certainty", "Observed" if version.is_cancel else "Likely")
    _value_pair(info, "eventCode", EVENT_CODE_NAME, hazard.event_code)
    _value_pair(info, "eventCode", HAZARD_CODE_NAME, hazard.id)
    _sub(info, "effective", cap_time(version.issued_at, rules.tz))
    _sub(info, "onset", cap_time(version.onset, rules.tz))
    _sub(info, "expires", cap_time(version.expires, rules.tz))
    _sub(info, "senderName", org.name[locale])
    _sub(info, "headline", texts.headline(version, rules, locale))
    _sub(info, "description", texts.description(version, rules, locale))
    _sub(info, "instruction", texts.instruction(version, rules, locale))
    _value_pair(info, "parameter", GRADE_PARAMETER, version.grade.value)
    for code in version.areas:
        area = _sub(info, "area")
        name = rules.areas.name(code) if locale == "zh-CN" else rules.areas.name_en(code)
        _sub(area, "areaDesc", name)
        _value_pair(area, "geocode", GEOCODE_NAME, code)


def to_cap(warning: Warning, version: Version, rules: Rules) -> bytes:
    """The CAP 1.2 document of an issued version (one `info` per language)."""
    if version.issued_at is None or version.cap_identifier is None:
        raise InvalidInput(
            f"version {version.number} has not been issued; only issued versions have CAP",
            field="version",
        )
    org = rules.catalog.organisation(rules.catalog.hazard(version.hazard).org)
    alert = ET.Element(f"{{{NS}}}alert")
    _sub(alert, "identifier", version.cap_identifier)
    _sub(alert, "sender", org.sender)
    _sub(alert, "sent", cap_time(version.issued_at, rules.tz))
    _sub(alert, "status", version.mode.cap_status)
    _sub(alert, "msgType", version.kind.cap_msg_type)
    _sub(alert, "scope", "Public")
    if version.mode is not Mode.ACTUAL:
        _sub(alert, "note", f"{version.mode.value}: not a real warning / 非真实预警")
    if version.references:
        _sub(alert, "references", version.references)
    for locale in LOCALES:
        _info(alert, version, rules, locale)
    ET.indent(alert)
    body: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return body


@dataclass(frozen=True)
class _Info:
    locale: str
    element: ET.Element

    def text(self, tag: str) -> str | None:
        found = self.element.find(f"{{{NS}}}{tag}")
        return found.text.strip() if found is not None and found.text else None

    def pairs(self, tag: str) -> list[tuple[str, str]]:
        return [
            (
                (e.findtext(f"{{{NS}}}valueName") or "").strip(),
                (e.findtext(f"{{{NS}}}value") or "").strip(),
            )
            for e in self.element.iter(f"{{{NS}}}{tag}")
        ]


def _locale(language: str | None) -> str | None:
    lang = (language or "en-US").lower()
    if lang.startswith("zh"):
        return "zh-CN"
    if lang.startswith("en"):
        return "en"
    return None


def _hazard_of(info: _Info, catalog: Catalog) -> str:
    codes = info.pairs("eventCode")
    for name, value in codes:
        if name == HAZARD_CODE_NAME and value in catalog.hazards:
            return value
    for _, value in codes:
        for hazard in catalog.hazards.values():
            if value == hazard.event_code:
                return hazard.id
    event = info.text("event") or ""
    for hazard in catalog.hazards.values():
        if event in hazard.name.values() or event.lower() == hazard.name["en"].lower():
            return hazard.id
    raise InvalidInput(
        f"the alert's event {event!r} and event codes match no hazard in the catalog",
        field="event",
    )


def _grade_of(info: _Info) -> str:
    for name, value in info.pairs("parameter"):
        if name == GRADE_PARAMETER:
            return value
    severity = info.text("severity") or ""
    grade = SEVERITY_TO_GRADE.get(severity)
    if grade is None:
        raise InvalidInput(f"severity {severity!r} maps to no grade", field="severity")
    return grade.value


def read_alert(document: bytes, catalog: Catalog) -> dict[str, Any]:
    """Draft fields (as `content.parse` takes them) from a schema-valid CAP alert."""
    root = ET.fromstring(document)
    msg_type = root.findtext(f"{{{NS}}}msgType")
    if msg_type != Kind.ALERT.cap_msg_type:
        raise InvalidInput(
            f"only CAP msgType Alert can be imported as a new draft, not {msg_type}",
            field="msgType",
        )
    status = root.findtext(f"{{{NS}}}status") or ""
    mode = status.lower()
    if mode not in {m.value for m in Mode}:
        raise InvalidInput(f"CAP status {status} cannot be imported", field="status")
    infos = [
        _Info(loc, element)
        for element in root.iter(f"{{{NS}}}info")
        if (loc := _locale(element.findtext(f"{{{NS}}}language"))) is not None
    ]
    if not infos:
        raise InvalidInput("the alert has no info block in Chinese or English", field="info")
    first = next((i for i in infos if i.locale == "zh-CN"), infos[0])
    raw: dict[str, Any] = {
        "hazard": _hazard_of(first, catalog),
        "grade": _grade_of(first),
        "mode": mode,
        "areas": [value for _, value in first.pairs("geocode")],
        "onset": first.text("onset") or first.text("effective") or root.findtext(f"{{{NS}}}sent"),
        "expires": first.text("expires"),
    }
    for field in ("headline", "description", "instruction"):
        raw[field] = {i.locale: t for i in infos if (t := i.text(field))}
    return raw
