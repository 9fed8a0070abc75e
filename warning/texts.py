"""The words of a version: custom text where the drafter gave it, else the catalog's."""

from __future__ import annotations

from warning.catalog import LOCALES
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
_MODE_LABEL = {
    Mode.EXERCISE: {"zh-CN": "【演练】", "en": "[EXERCISE] "},
    Mode.TEST: {"zh-CN": "【测试】", "en": "[TEST] "},
}


def _names(version: Version, rules: Rules, locale: str) -> dict[str, str]:
    hazard = rules.catalog.hazard(version.hazard)
    office = rules.catalog.organisation(hazard.org).name[locale]
    grade = version.grade.name_zh if locale == "zh-CN" else version.grade.name_en
    name = hazard.name[locale] if locale == "zh-CN" else hazard.name[locale].lower()
    return {"office": office, "hazard": name, "grade": grade}


def headline(version: Version, rules: Rules, locale: str) -> str:
    names = _names(version, rules, locale)
    text = version.headline.get(locale) or _HEADLINE[locale][version.kind].format(**names)
    label = _MODE_LABEL.get(version.mode, {}).get(locale, "")
    return text if text.startswith(label) else label + text


def description(version: Version, rules: Rules, locale: str) -> str:
    if locale in version.description:
        return version.description[locale]
    if version.is_cancel:
        return _CANCEL_DESCRIPTION[locale].format(**_names(version, rules, locale))
    return rules.catalog.hazard(version.hazard).text(version.grade).criteria[locale]


def instruction(version: Version, rules: Rules, locale: str) -> str:
    if locale in version.instruction:
        return version.instruction[locale]
    if version.is_cancel:
        return _CANCEL_INSTRUCTION[locale]
    return rules.catalog.hazard(version.hazard).text(version.grade).guidance[locale]


def all_texts(version: Version, rules: Rules) -> dict[str, dict[str, str]]:
    """Headline, description and instruction in every locale, as the public sees them."""
    return {
        "headline": {loc: headline(version, rules, loc) for loc in LOCALES},
        "description": {loc: description(version, rules, loc) for loc in LOCALES},
        "instruction": {loc: instruction(version, rules, loc) for loc in LOCALES},
    }
