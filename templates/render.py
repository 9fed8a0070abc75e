"""Rendering a version's message for one channel, locale and group set (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from templates import sms_length
from templates.names import english_name
from templates.spoken import for_the_ear
from warning import texts
from warning.model import Kind, Mode, Version, Warning
from warning.rules import Rules

TEMPLATE_DIR = Path(__file__).resolve().parent / "text"
CHANNELS = ("sms", "wechat", "broadcast", "officer")
SEGMENTED = ("sms", "officer")  # channels whose text may travel as an SMS

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    undefined=StrictUndefined,
    autoescape=False,  # plain text for phones and loudspeakers, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)
_MODE = {
    Mode.EXERCISE: {
        "zh-CN": ("【演练】", "演练信息，"),
        "en": ("[EXERCISE] ", "This is an exercise. "),
    },
    Mode.TEST: {"zh-CN": ("【测试】", "测试信息，"), "en": ("[TEST] ", "This is a test. ")},
}
_REPEAT = {"zh-CN": "重复一遍。", "en": "I repeat. "}
# Numbered guidance items: "1.…；2.…" in Chinese, "1. … 2. …" in English.
_ITEM = re.compile(r"(?<=[；;。.])\s*(?=\d+[.．、]\s?\D)")


@dataclass(frozen=True)
class Rendered:
    channel: str
    locale: str
    groups: tuple[str, ...]
    title: str
    text: str


@dataclass(frozen=True)
class Options:
    """Settings that shape the text: SMS segment cap and broadcast repetitions per grade."""

    sms_max_segments: int = 4
    broadcast_repeats: Mapping[str, int] | None = None


def guidance_items(instruction: str) -> list[str]:
    """'1.…；2.…' split into its numbered items (the whole text if it has no numbers)."""
    parts = [p.strip() for p in _ITEM.split(instruction) if p.strip()]
    return parts or [instruction]


# Official guidance usually opens with the authorities' duties; a resident's SMS has
# room only for what the resident should do.
_AUTHORITIES = ("政府及相关部门", "The government and relevant departments")


def for_residents(items: list[str]) -> list[str]:
    """Guidance items, unnumbered, without those addressed to the authorities (unless
    nothing would be left)."""
    plain = [re.sub(r"^\d+[.．、]\s?", "", i) for i in items]
    return [i for i in plain if not i.startswith(_AUTHORITIES)] or plain


def _when(moment: datetime, rules: Rules, locale: str) -> str:
    local = moment.astimezone(rules.tz)
    if locale == "zh-CN":
        minutes = f"{local.minute}分" if local.minute else ""
        return f"{local.month}月{local.day}日{local.hour}时{minutes}"
    return f"{local.day} {local.strftime('%b %H:%M')}"


def _area(code: str, rules: Rules, locale: str) -> str:
    name = rules.areas.name(code)
    return name if locale == "zh-CN" else english_name(name)


def _changes(warning: Warning, version: Version, rules: Rules, locale: str) -> list[str]:
    """What this version changes compared with the one it replaces, in words."""
    if version.number == 1 or version.kind is Kind.CANCEL:
        return []
    before = warning.versions[version.number - 2]
    zh = locale == "zh-CN"

    def names(code: str) -> str:
        return _area(code, rules, locale)

    changes = []
    if before.grade is not version.grade:
        old, new = (
            (before.grade.name_zh, version.grade.name_zh)
            if zh
            else (before.grade.name_en, version.grade.name_en)
        )
        changes.append(f"级别由{old}调整为{new}" if zh else f"level changed from {old} to {new}")
    added = [names(c) for c in version.areas if c not in before.areas]
    removed = [names(c) for c in before.areas if c not in version.areas]
    if added:
        changes.append(
            ("新增影响区域：" + "、".join(added)) if zh else "now also " + ", ".join(added)
        )
    if removed:
        changes.append(
            ("不再影响：" + "、".join(removed)) if zh else "no longer " + ", ".join(removed)
        )
    if before.expires != version.expires:
        until = _when(version.expires, rules, locale)
        changes.append(f"有效期改至{until}" if zh else f"now valid until {until}")
    return changes


def _signal(version: Version, rules: Rules, locale: str) -> str:
    """The short name of the signal: the forecaster's headline, else 台风红色预警信号."""
    if locale in version.headline:
        return version.headline[locale]
    hazard = rules.catalog.hazard(version.hazard).name[locale]
    if locale == "zh-CN":
        lifted = "解除" if version.is_cancel else ""
        return f"{lifted}{hazard}{version.grade.name_zh}预警信号"
    lifted = "lifted: " if version.is_cancel else ""
    return f"{lifted}{version.grade.name_en} {hazard.lower()} warning"


def context(
    warning: Warning,
    version: Version,
    locale: str,
    groups: tuple[str, ...],
    rules: Rules,
    at: datetime,
) -> dict[str, Any]:
    """Everything a template may use; `at` is the issue time (now, for a preview)."""
    hazard = rules.catalog.hazard(version.hazard)
    org = rules.catalog.organisation(hazard.org)
    zh = locale == "zh-CN"
    instruction = texts.instruction(version, rules, locale)
    label, spoken = _MODE.get(version.mode, {}).get(locale, ("", ""))
    return {
        "office": org.name[locale],
        "signature": (org.short_name or org.name)[locale],
        "hazard": hazard.name[locale] if zh else hazard.name[locale].lower(),
        "grade": version.grade.name_zh if zh else version.grade.name_en,
        "headline": texts.headline(version, rules, locale).removeprefix(label),
        "signal": _signal(version, rules, locale),
        "description": texts.description(version, rules, locale),
        "instruction": instruction,
        "guidance_items": for_residents(guidance_items(instruction)),
        "group_instructions": rules.catalog.group_instructions(
            groups, version.hazard, version.grade, locale
        ),
        "areas_text": ("、" if zh else ", ").join(_area(c, rules, locale) for c in version.areas),
        "time": _when(version.issued_at or at, rules, locale),
        "expires": _when(version.expires, rules, locale),
        "changes": _changes(warning, version, rules, locale),
        "cancel": version.is_cancel,
        "mode_label": label,
        "spoken_label": spoken,
        "max_items": None,
        "more_guidance": False,
    }


def _template(channel: str, locale: str, hazard: str) -> Any:
    """The hazard's own template where wording differs, else the channel's default."""
    return _ENV.select_template(
        [f"{channel}/{locale}/{hazard}.j2", f"{channel}/{locale}/default.j2"]
    )


def _squash(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def render(
    warning: Warning,
    version: Version,
    channel: str,
    locale: str,
    groups: tuple[str, ...],
    rules: Rules,
    at: datetime,
    options: Options = Options(),
) -> Rendered:
    """The message of `version` on `channel` in `locale` for people in `groups`."""
    template = _template(channel, locale, version.hazard)
    values = context(warning, version, locale, groups, rules, at)
    title = (
        values["headline"]
        if not values["mode_label"]
        else (values["mode_label"] + values["headline"])
    )
    if channel in SEGMENTED:
        text = _fit_sms(template, values, options.sms_max_segments)
    else:
        text = _squash(template.render(values))
    if channel == "broadcast":
        repeats = (options.broadcast_repeats or {}).get(version.grade.value, 1)
        text = for_the_ear(_REPEAT[locale].join([text] * max(repeats, 1)), locale)
    return Rendered(channel, locale, groups, title, text)


def _fit_sms(template: Any, values: dict[str, Any], cap: int) -> str:
    """Drop trailing guidance items (pointing to WeChat) until the SMS fits `cap` parts.

    If even no item fits, the long text is returned and the preview reports it.
    """
    items = values["guidance_items"]
    text = ""
    for keep in range(len(items), -1, -1):
        values = {**values, "max_items": keep, "more_guidance": keep < len(items)}
        text = sms_length.plain(_squash(template.render(values)))
        if sms_length.segments(text) <= cap:
            return text
    return text
