"""The words of a version: custom text where the drafter gave it, else the catalog's."""

from __future__ import annotations

from warning.catalog import LOCALES
from warning.grades import Grade
from warning.model import Kind, Mode, Version
from warning.rules import Rules

_HEADLINE = {
    "zh-CN": {
        Kind.ALERT: "{office}发布{hazard}{grade}预警信号",
        Kind.UPDATE: "{office}更新{hazard}{grade}预警信号",
        Kind.ESCALATE: "{office}将{hazard}预警信号升级为{grade}",
        Kind.DOWNGRADE: "{office}将{hazard}预警信号降级为{grade}",
        Kind.CANCEL: "{office}解除{hazard}{grade}预警信号",
    },
    "en": {
        Kind.ALERT: "{office} issues a {grade} {hazard} warning",
        Kind.UPDATE: "{office} updates the {grade} {hazard} warning",
        Kind.ESCALATE: "{office} raises the {hazard} warning to {grade}",
        Kind.DOWNGRADE: "{office} lowers the {hazard} warning to {grade}",
        Kind.CANCEL: "{office} lifts the {grade} {hazard} warning",
    },
}

_CANCEL_DESCRIPTION = {
    "zh-CN": "{office}解除{hazard}{grade}预警信号。",
    "en": "{office} has lifted the {grade} {hazard} warning.",
}
_CANCEL_INSTRUCTION = {
    "zh-CN": "预警已解除，请继续注意防范可能出现的次生灾害，关注后续预警信息。",
    "en": "The warning is over. Stay alert for after-effects and follow any further warnings.",
}

# Exercise and test messages are always labelled, whatever the drafter wrote.
MODE_LABEL = {
    Mode.EXERCISE: {"zh-CN": "【演练】", "en": "[EXERCISE] "},
    Mode.TEST: {"zh-CN": "【测试】", "en": "[TEST] "},
}
# English where the forecaster wrote only Chinese: the Chinese, marked, never the
# catalog's English, which would say something else (see warning.wording).
PENDING = "[Translation pending] "


def _names(hazard_id: str, grade: Grade, rules: Rules, locale: str) -> dict[str, str]:
    hazard = rules.catalog.hazard(hazard_id)
    office = rules.catalog.organisation(hazard.org).name[locale]
    grade_name = grade.name_zh if locale == "zh-CN" else grade.name_en
    name = hazard.name[locale] if locale == "zh-CN" else hazard.name[locale].lower()
    return {"office": office, "hazard": name, "grade": grade_name}


def catalog_text(
    name: str, hazard_id: str, grade: Grade, kind: Kind, rules: Rules, locale: str
) -> str:
    """What the catalog says for `name` (headline, description, instruction), unlabelled."""
    if name == "headline":
        return _HEADLINE[locale][kind].format(**_names(hazard_id, grade, rules, locale))
    if kind is Kind.CANCEL:
        if name == "description":
            return _CANCEL_DESCRIPTION[locale].format(**_names(hazard_id, grade, rules, locale))
        return _CANCEL_INSTRUCTION[locale]
    text = rules.catalog.hazard(hazard_id).text(grade)
    return (text.criteria if name == "description" else text.guidance)[locale]


def _resolved(version: Version, name: str, rules: Rules, locale: str) -> str:
    own: dict[str, str] = getattr(version, name)
    if locale in own:
        return own[locale]
    if locale == "en" and name != "headline" and "zh-CN" in own:
        return PENDING + own["zh-CN"]
    return catalog_text(name, version.hazard, version.grade, version.kind, rules, locale)


def headline(version: Version, rules: Rules, locale: str) -> str:
    text = _resolved(version, "headline", rules, locale)
    label = MODE_LABEL.get(version.mode, {}).get(locale, "")
    return text if text.startswith(label) else label + text


def description(version: Version, rules: Rules, locale: str) -> str:
    return _resolved(version, "description", rules, locale)


def instruction(version: Version, rules: Rules, locale: str) -> str:
    return _resolved(version, "instruction", rules, locale)


def all_texts(version: Version, rules: Rules) -> dict[str, dict[str, str]]:
    """Headline, description and instruction in every locale, as the public sees them."""
    return {
        "headline": {loc: headline(version, rules, loc) for loc in LOCALES},
        "description": {loc: description(version, rules, loc) for loc in LOCALES},
        "instruction": {loc: instruction(version, rules, loc) for loc in LOCALES},
    }
