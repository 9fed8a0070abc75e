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
    """What shapes the text: the SMS segment cap, loudspeaker repetitions per grade, and the
    lengths the providers accept (the adapters declare the same figures)."""

    sms_max_segments: int = 4
    broadcast_repeats: Mapping[str, int] | None = None
    wechat_chars: int = 200  # a WeChat template value
    wecom_bytes: int = 2048
    broadcast_chars: int = 1500  # all repetitions together

    def repeats(self, grade: str) -> int:
        return max((self.broadcast_repeats or {}).get(grade, 1), 1)

    def fits(self, channel: str, text: str, grade: str) -> bool:
        """Whether `text` is within the limits of `channel` (repetitions included)."""
        if channel == "sms":
            return sms_length.segments(text) <= self.sms_max_segments
        if channel == "officer":  # goes by SMS or WeCom
            return (
                sms_length.segments(text) <= self.sms_max_segments
                and len(text.encode()) <= self.wecom_bytes
            )
        if channel == "wechat":
            return len(text) <= self.wechat_chars
        spoken = len(text) * self.repeats(grade) + len(_REPEAT["zh-CN"]) * self.repeats(grade)
        return spoken <= self.broadcast_chars


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
    return rules.areas.name(code) if locale == "zh-CN" else rules.areas.name_en(code)


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


def _brief_areas(version: Version, rules: Rules, locale: str) -> str:
    """The first two areas and how many more: for messages too short for every name."""
    names = [_area(c, rules, locale) for c in version.areas]
    if len(names) <= 2:
        return ("、" if locale == "zh-CN" else ", ").join(names)
    more = len(names) - 2
    if locale == "zh-CN":
        return f"{'、'.join(names[:2])}等{len(names)}个地区"
    return f"{', '.join(names[:2])} and {more} more areas"


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
        "areas_brief": _brief_areas(version, rules, locale),
        "time": _when(version.issued_at or at, rules, locale),
        "expires": _when(version.expires, rules, locale),
        "changes": _changes(warning, version, rules, locale),
        "cancel": version.is_cancel,
        "mode_label": label,
        "spoken_label": spoken,
        "max_items": None,
        "show_description": True,
        "show_groups": True,
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
    title = values["mode_label"] + values["headline"]
    grade = version.grade.value

    def fits(text: str) -> bool:
        spoken = for_the_ear(text, locale) if channel == "broadcast" else text
        return options.fits(channel, spoken, grade)

    text = _fit(template, values, fits)
    if channel == "broadcast":
        text = for_the_ear(_REPEAT[locale].join([text] * options.repeats(grade)), locale)
    return Rendered(channel, locale, groups, title, text)


def _fit(template: Any, values: dict[str, Any], fits: Any) -> str:
    """The fullest text that fits: trailing guidance items go first, then the criteria,
    last the group's instructions (the text then points to where the rest is). If nothing
    fits, the shortest text is returned and the preview reports the violation."""
    items = values["guidance_items"]
    stages = [(True, True, keep, False) for keep in range(len(items), -1, -1)]
    stages += [(False, True, 0, False), (False, False, 0, False), (False, False, 0, True)]
    text = ""
    for describe, groups, keep, brief in stages:
        trimmed = keep < len(items) or not describe or not groups
        areas = values["areas_brief"] if brief else values["areas_text"]
        text = sms_length.plain(
            _squash(
                template.render(
                    {
                        **values,
                        "max_items": keep,
                        "show_description": describe,
                        "show_groups": groups,
                        "more_guidance": trimmed,
                        "areas_text": areas,
                    }
                )
            )
        )
        if fits(text):
            return text
    return text
