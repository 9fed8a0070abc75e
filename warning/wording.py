"""Whether a version's words match the version: the safety rules on its texts.

- **Catalog text follows the version.** A text equal to one the catalog gives (for any
  hazard, grade or kind of version) is not the forecaster's own: it is dropped, so the
  version shows the catalog text of its *current* hazard and grade. This is what keeps a
  form that was filled in for blue and then switched to red from storing blue words.
- **The forecaster's own text names no other grade.** A text of a red warning that says
  蓝色, "yellow" or Ⅲ级 is refused at submit and at approval (`check_grade_words`). An
  escalation or downgrade may name the grade it replaces, but only beside its own
  ("由黄色升级为红色").
- **English never contradicts Chinese.** Where the forecaster wrote a Chinese
  description or instruction and no English one, the English text is the Chinese one
  marked "translation pending" (`warning.texts`), never the catalog's, which says
  something else; an approver must then confirm "send Chinese only".
"""

from __future__ import annotations

import re
from dataclasses import replace

from warning.catalog import LOCALES
from warning.content import TEXT_FIELDS, Content
from warning.errors import InvalidInput
from warning.grades import Grade
from warning.model import Kind, Texts, Version
from warning.rules import Rules
from warning.texts import MODE_LABEL, PENDING, catalog_text

# Only the description and instruction carry what the forecaster says of this event; the
# catalog headline just names the signal, which is right in every language.
TRANSLATED = ("description", "instruction")


def _plain(text: str) -> str:
    """Text compared without its mode label and with whitespace collapsed."""
    for labels in MODE_LABEL.values():
        for label in labels.values():
            text = text.strip().removeprefix(label.strip())
    return " ".join(text.split())


Variants = dict[str, dict[str, frozenset[str]]]
# Per catalog object (loaded once per process; the rules are rebuilt per transaction).
_VARIANTS: dict[int, tuple[object, Variants]] = {}


def catalog_variants(rules: Rules) -> Variants:
    """Every text the catalog can give, per field and locale (all hazards, grades, kinds)."""
    cached = _VARIANTS.get(id(rules.catalog))
    if cached is not None and cached[0] is rules.catalog:
        return cached[1]
    variants = _variants(rules)
    _VARIANTS.clear()  # one catalog is in use at a time
    _VARIANTS[id(rules.catalog)] = (rules.catalog, variants)
    return variants


def _variants(rules: Rules) -> Variants:
    found: dict[str, dict[str, set[str]]] = {
        n: {loc: set() for loc in LOCALES} for n in TEXT_FIELDS
    }
    for hazard in rules.catalog.hazards.values():
        for grade in hazard.grades:
            for kind in Kind:
                for name in TEXT_FIELDS:
                    for locale in LOCALES:
                        text = catalog_text(name, hazard.id, grade, kind, rules, locale)
                        found[name][locale].add(_plain(text))
    return {n: {loc: frozenset(t) for loc, t in by.items()} for n, by in found.items()}


def own_texts(name: str, texts: Texts, variants: Variants) -> Texts:
    """`texts` without what the catalog (or the translation-pending mark) would say."""
    return {
        locale: text
        for locale, text in texts.items()
        if not text.startswith(PENDING.strip())
        and _plain(text) not in variants[name].get(locale, frozenset())
    }


def follow_catalog(content: Content, rules: Rules) -> Content:
    """The content with every catalog-given text dropped, so it follows the catalog."""
    variants = catalog_variants(rules)
    return replace(
        content,
        headline=own_texts("headline", content.headline, variants),
        description=own_texts("description", content.description, variants),
        instruction=own_texts("instruction", content.instruction, variants),
    )


def refollow(version: Version, rules: Rules) -> None:
    """Resolve a stored version's texts again (the catalog may have changed since)."""
    variants = catalog_variants(rules)
    for name in TEXT_FIELDS:
        setattr(version, name, own_texts(name, getattr(version, name), variants))


def _grade_words(grade: Grade) -> re.Pattern[str]:
    """What names a grade in text: its colour (zh, en) or its level (Ⅳ级, IV级, Level IV)."""
    roman = {Grade.BLUE: "IV", Grade.YELLOW: "III", Grade.ORANGE: "II", Grade.RED: "I"}[grade]
    numeral = {Grade.BLUE: "Ⅳ", Grade.YELLOW: "Ⅲ", Grade.ORANGE: "Ⅱ", Grade.RED: "Ⅰ"}[grade]
    return re.compile(
        rf"{grade.name_zh}|(?<![A-Za-z]){grade.name_en}(?![A-Za-z])"
        rf"|{numeral}\s*级|(?<![IVX]){roman}\s*级|level\s+{roman}(?![IVX])",
        re.IGNORECASE,
    )


_WORDS = {grade: _grade_words(grade) for grade in Grade}


def grades_named(text: str) -> set[Grade]:
    """The grades a text names by colour or level."""
    return {grade for grade, pattern in _WORDS.items() if pattern.search(text)}


def _allowed_others(version: Version, replaced: Version | None) -> set[Grade]:
    if replaced is not None and version.kind in (Kind.ESCALATE, Kind.DOWNGRADE):
        return {replaced.grade}
    return set()


def check_grade_words(version: Version, replaced: Version | None) -> None:
    """Refuse a version whose own texts name another grade's colour or level."""
    allowed = _allowed_others(version, replaced)
    for name in TEXT_FIELDS:
        for locale, text in getattr(version, name).items():
            named = grades_named(text)
            others = named - {version.grade}
            if others <= allowed and (not others or version.grade in named):
                continue
            wrong = sorted(others - allowed or others, key=lambda g: g.rank)
            words = ", ".join(f"{g.name_zh} {g.name_en}" for g in wrong)
            raise InvalidInput(
                f"the {name} ({locale}) names another grade ({words}) but this is a"
                f" {version.grade.name_zh} {version.grade.value} warning: correct the text",
                field=name,
            )


def translation_pending(version: Version) -> tuple[str, ...]:
    """The texts written in Chinese only, whose English is shown as 'translation pending'."""
    return tuple(
        name
        for name in TRANSLATED
        if "zh-CN" in getattr(version, name) and "en" not in getattr(version, name)
    )
