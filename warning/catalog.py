"""The hazard catalog and issuing organisations, built from config data (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    short_name: Mapping[str, str] | None = None  # SMS signature; the full name if unset


@dataclass(frozen=True)
class GroupInstruction:
    """Extra instruction for members of a group, for some hazards and grades (empty: all)."""

    hazards: frozenset[str]
    grades: frozenset[Grade]
    text: Mapping[str, str]

    def applies(self, hazard: str, grade: Grade) -> bool:
        return (not self.hazards or hazard in self.hazards) and (
            not self.grades or grade in self.grades
        )


@dataclass(frozen=True)
class Group:
    id: str
    name: Mapping[str, str]
    within: str | None = None
    voice_only_forbidden: bool = False
    instructions: tuple[GroupInstruction, ...] = ()


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

    def members_of(self, group_ids: Iterable[str]) -> frozenset[str]:
        """The groups whose members a warning for `group_ids` reaches (sub-groups included)."""
        reached = set(group_ids)
        changed = True
        while changed:
            inner = {g.id for g in self.groups.values() if g.within in reached}
            changed = not inner <= reached
            reached |= inner
        return frozenset(reached)

    def no_voice_only_groups(self) -> frozenset[str]:
        return frozenset(g.id for g in self.groups.values() if g.voice_only_forbidden)

    def group_instructions(
        self, group_ids: Iterable[str], hazard: str, grade: Grade, locale: str
    ) -> list[str]:
        """The extra instructions, in catalog order, for people in these groups."""
        wanted = set(group_ids)
        return [
            rule.text[locale]
            for group in self.groups.values()
            if group.id in wanted
            for rule in group.instructions
            if rule.applies(hazard, grade)
        ]

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


def _group(group_id: str, entry: Mapping[str, Any], hazards: Mapping[str, Hazard]) -> Group:
    rules = []
    for rule in entry.get("instructions", []):
        unknown = set(rule.get("hazards", [])) - set(hazards)
        if unknown:
            raise ValueError(f"group {group_id}: unknown hazards {sorted(unknown)}")
        rules.append(
            GroupInstruction(
                hazards=frozenset(rule.get("hazards", [])),
                grades=frozenset(Grade(g) for g in rule.get("grades", [])),
                text={"zh-CN": rule["zh"], "en": rule["en"]},
            )
        )
    return Group(
        id=group_id,
        name=_localized(entry, "name"),
        within=entry.get("within"),
        voice_only_forbidden=bool(entry.get("voice_only_forbidden", False)),
        instructions=tuple(rules),
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
            short_name={
                "zh-CN": str(entry.get("short_name_zh", entry["name_zh"])),
                "en": str(entry.get("short_name_en", entry["name_en"])),
            },
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
        group_id: _group(group_id, entry, hazards)
        for group_id, entry in groups_doc["groups"].items()
    }
    for group in groups.values():
        if group.within is not None and group.within not in groups:
            raise ValueError(f"group {group.id}: within unknown group {group.within!r}")
    return Catalog(hazards=hazards, organisations=organisations, groups=groups)
