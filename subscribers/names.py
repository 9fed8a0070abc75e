"""English names of Chinese places: pinyin for the proper name, English for its kind.

The area tree carries each area's English name (`AreaTree.name_en`), computed here where
the tree is built (from the database or a divisions CSV), so every English text — the
messages, the CAP alert's English `info`, the public page — names places the same way.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import lazy_pinyin

# Longest suffix first: what kind of place the name ends with.
_KINDS = (
    ("社区居委会", "Community"),
    ("居委会", "Community"),
    ("村委会", "Village"),
    ("化工园区", "Chemical Park"),
    ("开发区", "Development Zone"),
    ("渔港", "Fishing Port"),
    ("农场", "Farm"),
    ("盐场", "Salt Works"),
    ("社区", "Community"),
    ("镇", "Town"),
    ("村", "Village"),
    ("县", "County"),
)
_STEMS = {"县": "County", "省属": ""}


@lru_cache(maxsize=4096)  # the tree is rebuilt for every transaction; names repeat
def english_name(name: str) -> str:
    """陈家港镇 → Chenjiagang Town; 东园居委会 → Dongyuan Community; ASCII names unchanged."""
    if name.isascii():
        return name
    kind = ""
    for suffix, english in _KINDS:
        if name.endswith(suffix) and len(name) > len(suffix):
            name, kind = name[: -len(suffix)], english
            break
    name = name.removeprefix("省属")
    stem = _STEMS.get(name) if name in _STEMS else "".join(lazy_pinyin(name)).capitalize()
    return " ".join(part for part in (stem, kind) if part)
