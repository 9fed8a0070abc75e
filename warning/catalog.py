"""The hazard catalog and issuing organisations, built from config data (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warning.errors import InvalidInput
from warning.grades import Grade

LOCALES = ("zh-CN", "en")
TEXT_STATUSES = frozenset({"official", "provincial", "ewb"})


@dataclass(frozen=True)
class GradeText:
    """Criteria (标准) and defence guidance (防御指南) of one hazard grade, per locale."""

    criteria: Mapping[str, str]
    guidance: Mapping[str, str]
    criteria_status: str
    guidance_status: str
    source: str


@dataclass(frozen=True)
class Hazard:
    id: str
    org: str
    event_code: str
    cap_category: str
    name: Mapping[str, str]
    grades: Mapping[Grade, GradeText]

    def text(self, grade: Grade) -> GradeText:
        return self.grades[grade]


@dataclass(frozen=True)
class Organisation:
    """An issuing organisation; `all_hazards` marks the county government."""

    id: str
    name: Mapping[str, str]
    cap_code: str
    sender: str
    all_hazards: bool = False


@dataclass(frozen=True)
class Group:
    id: str
    name: Mapping[str, str]


@dataclass(frozen=True)
class Catalog:
    hazards: Mapping[str, Hazard]
    organisations: Mapping[str, Organisation]
    groups: Mapping[str, Group]

    def hazard(self, hazard_id: str) -> Hazard:
        """The hazard, or InvalidInput naming the field `hazard`."""
        try:
            return self.hazards[hazard_id]
        except KeyError:
            known = ", ".join(self.hazards)
            raise InvalidInput(
                f"unknown hazard {hazard_id!r}; known: {known}", field="hazard"
            ) from None

    def organisation(self, org_id: str) -> Organisation:
        return self.organisations[org_id]

    def org_may_issue(self, org_id: str, hazard_id: str) -> bool:
        org = self.organisations.get(org_id)
        if org is None:
            return False
        return org.all_hazards or self.hazards[hazard_id].org == org_id


def _localized(entry: Mapping[str, Any], key: str) -> dict[str, str]:
    return {"zh-CN": str(entry[f"{key}_zh"]), "en": str(entry[f"{key}_en"])}


def _grade_text(hazard_id: str, grade: str, entry: Mapping[str, Any]) -> GradeText:
    for key in ("criteria_status", "guidance_status"):
        if entry[key] not in TEXT_STATUSES:
            raise ValueError(f"hazard {hazard_id} grade {grade}: bad {key} {entry[key]!r}")
    return GradeText(
        criteria=_localized(entry, "criteria"),
        guidance=_localized(entry, "guidance"),
        criteria_status=entry["criteria_status"],
        guidance_status=entry["guidance_status"],
        source=entry["source"],
    )


def build_catalog(
    hazards_doc: Mapping[str, Any], orgs_doc: Mapping[str, Any], groups_doc: Mapping[str, Any]
) -> Catalog:
    """Build the catalog from the parsed TOML documents; raises ValueError on bad data."""
    organisations = {
        org_id: Organisation(
            id=org_id,
            name=_localized(entry, "name"),
            cap_code=str(entry.get("cap_code", "")),
            sender=str(entry.get("sender", "")),
            all_hazards=bool(entry.get("all_hazards", False)),
        )
        for org_id, entry in orgs_doc["organisations"].items()
    }
    hazards: dict[str, Hazard] = {}
    for entry in hazards_doc["hazards"]:
        hazard_id = entry["id"]
        org = organisations.get(entry["org"])
        if org is None or not org.cap_code or not org.sender:
            raise ValueError(
                f"hazard {hazard_id}: organisation {entry['org']!r} is unknown or lacks"
                " cap_code and sender"
            )
        grades = {
            Grade(grade): _grade_text(hazard_id, grade, text)
            for grade, text in entry["grades"].items()
        }
        hazards[hazard_id] = Hazard(
            id=hazard_id,
            org=entry["org"],
            event_code=entry["event_code"],
            cap_category=entry["cap_category"],
            name=_localized(entry, "name"),
            grades=dict(sorted(grades.items(), key=lambda item: item[0].rank)),
        )
    groups = {
        group_id: Group(id=group_id, name=_localized(entry, "name"))
        for group_id, entry in groups_doc["groups"].items()
    }
    return Catalog(hazards=hazards, organisations=organisations, groups=groups)
