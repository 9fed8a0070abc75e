"""The draft page's form: its fields to the API's body and back, and what it offers.

The form posts its texts as they stand, with or without the script. The domain tells the
catalog's texts from the drafter's own (`warning.wording.follow_catalog`): a text left as
the catalog prefilled it, for whatever hazard and grade the form was loaded with, is not
stored, so the version always says what the catalog says for its current hazard and grade.

A cancel (all-clear) form carries only texts: `kind=cancel` in the form says so.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from store.areas import AreaFigures
from warning import texts
from warning.actors import Actor
from warning.catalog import LOCALES
from warning.content import TEXT_FIELDS
from warning.grades import Grade, parse_grade
from warning.model import Kind, Mode, State, Version
from warning.rules import Rules

LOCAL_TIME = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
SUFFIX = {"zh-CN": "zh", "en": "en"}


def _local(value: str, tz: ZoneInfo) -> str | None:
    """A datetime-local value as an ISO time with the office's offset (None when empty)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the domain's own check names the field and the format
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def local_input(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(LOCAL_TIME) if moment else ""


def sketch(fields: dict[str, Any], rules: Rules, author: str, now: datetime) -> Version | None:
    """A throw-away version of the form's hazard, grade and mode: what the catalog says."""
    grade = parse_grade(fields.get("grade"))
    hazard = fields.get("hazard")
    if grade is None or hazard not in rules.catalog.hazards:
        return None
    try:
        mode = Mode(fields.get("mode") or "actual")
    except ValueError:
        mode = Mode.ACTUAL
    kind = fields.get("kind") or "alert"
    return Version(
        number=1,
        kind=Kind(kind) if kind in Kind._value2member_map_ else Kind.ALERT,
        state=State.DRAFT,
        hazard=hazard,
        grade=grade,
        areas=(),
        groups=(),
        onset=now,
        expires=now,
        mode=mode,
        author=author,
        created_at=now,
    )


def catalog_texts(version: Version | None, rules: Rules) -> dict[str, dict[str, str]]:
    """The texts the catalog gives for this hazard, grade and kind (custom ones removed)."""
    if version is None:
        return {name: {} for name in TEXT_FIELDS}
    plain = dataclasses.replace(version, headline={}, description={}, instruction={})
    return texts.all_texts(plain, rules)


def texts_of(fields: dict[str, str]) -> dict[str, Any]:
    """The posted headline, description and instruction (None where every locale is empty)."""
    body: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        given = {locale: fields.get(f"{name}_{SUFFIX[locale]}", "").strip() for locale in LOCALES}
        body[name] = {locale: text for locale, text in given.items() if text} or None
    return body


def body_of(fields: dict[str, str], lists: dict[str, list[str]], rules: Rules) -> dict[str, Any]:
    """The API body (as for POST /warnings) of a submitted draft form."""
    if fields.get("kind") == Kind.CANCEL.value:
        return texts_of(fields)  # an all-clear changes only its words
    tz = rules.tz
    body: dict[str, Any] = {
        "hazard": fields.get("hazard", ""),
        "grade": fields.get("grade", ""),
        "areas": lists.get("areas", []),
        "groups": lists.get("groups", []),
        "onset": _local(fields.get("onset", ""), tz),
        "expires": _local(fields.get("expires", ""), tz),
        "mode": fields.get("mode") or "actual",
    }
    for name in ("onset", "expires"):
        if body[name] is None:  # left empty: the domain names the missing field
            del body[name]
    return {**body, **texts_of(fields)}


def values_of(version: Version, rules: Rules) -> dict[str, Any]:
    """The form's fields showing a stored version (texts as the public would see them)."""
    tz = rules.tz
    values: dict[str, Any] = {
        "hazard": version.hazard,
        "grade": version.grade.value,
        "areas": list(version.areas),
        "groups": list(version.groups),
        "onset": local_input(version.onset, tz),
        "expires": local_input(version.expires, tz),
        "mode": version.mode.value,
        "kind": version.kind.value,
    }
    for name, by_locale in texts.all_texts(version, rules).items():
        for locale, text in by_locale.items():
            # English still to be written is an empty field, not the marked Chinese.
            pending = text.startswith(texts.PENDING)
            values[f"{name}_{SUFFIX[locale]}"] = "" if pending else text
    return values


def cancel_values(live: Version, rules: Rules, now: datetime) -> dict[str, Any]:
    """The form of an all-clear of `live`: its hazard and grade, the catalog's cancel texts."""
    values = values_of(live, rules)
    values["kind"] = Kind.CANCEL.value
    sketched = sketch({**values, "kind": Kind.CANCEL.value}, rules, live.author, now)
    for name, by_locale in catalog_texts(sketched, rules).items():
        for locale, text in by_locale.items():
            values[f"{name}_{SUFFIX[locale]}"] = text
    return values


def blank_values(actor: Actor, rules: Rules, now: datetime) -> dict[str, Any]:
    """A new draft: the first hazard the actor's organisation issues, blue, from the hour."""
    hazards = hazard_choices(actor, rules)
    start = now.astimezone(rules.tz).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    fields = {"hazard": hazards[0][0] if hazards else "", "grade": Grade.BLUE.value}
    values: dict[str, Any] = {
        **fields,
        "areas": [],
        "groups": [],
        "onset": start.strftime(LOCAL_TIME),
        "expires": (start + timedelta(hours=24)).strftime(LOCAL_TIME),
        "mode": Mode.ACTUAL.value,
        "kind": Kind.ALERT.value,
    }
    defaults = catalog_texts(sketch(fields, rules, actor.username, now), rules)
    for name, by_locale in defaults.items():
        for locale, text in by_locale.items():
            values[f"{name}_{SUFFIX[locale]}"] = text
    return values


def form_values(fields: dict[str, str], lists: dict[str, list[str]]) -> dict[str, Any]:
    """A submitted form, to show again as it was (after a refusal)."""
    return {**fields, "areas": lists.get("areas", []), "groups": lists.get("groups", [])}


def hazard_choices(actor: Actor, rules: Rules) -> list[tuple[str, str]]:
    """(id, name) of the hazards the actor's organisation may issue."""
    return [
        (h.id, f"{h.name['zh-CN']} {h.name['en']}")
        for h in rules.catalog.hazards.values()
        if rules.catalog.org_may_issue(actor.org, h.id)
    ]


def group_choices(rules: Rules) -> list[tuple[str, str]]:
    return [(g.id, f"{g.name['zh-CN']} {g.name['en']}") for g in rules.catalog.groups.values()]


@dataclasses.dataclass
class TreeNode:
    code: str
    name: str
    population: int | None
    sample: bool
    children: list[TreeNode]


def area_tree(figures: list[AreaFigures], scope: frozenset[str], rules: Rules) -> list[TreeNode]:
    """The towns (and their villages) within the actor's scope, with population figures."""
    nodes = {
        f.code: TreeNode(f.code, f.name, f.population, f.population_source == "sample", [])
        for f in figures
    }
    roots: list[TreeNode] = []
    for f in figures:
        if f.level == "county":
            continue
        node = nodes[f.code]
        parent = nodes.get(f.parent or "")
        if parent is not None and f.level != "township" and f.parent in nodes:
            parent.children.append(node)
        elif f.level == "township" and rules.areas.is_within(f.code, scope):
            roots.append(node)
    counties = [f for f in figures if f.level == "county" and f.code in scope]
    top = [
        TreeNode(c.code, c.name, c.population, c.population_source == "sample", roots)
        for c in counties
    ]
    return top or roots
