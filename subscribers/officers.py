"""Disaster information officers (灾害信息员): CSV rows, and the villages nobody serves."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from subscribers import phones
from warning.areas import Area, AreaTree

COLUMNS = ("username", "name", "phone", "wecom_id", "areas")
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Officer:
    username: str
    name: str
    phone: str
    wecom_id: str | None
    areas: frozenset[str]


def _check(row: Mapping[str, str], tree: AreaTree) -> Officer | str:
    value = {k: (row.get(k) or "").strip() for k in COLUMNS}
    if not _USERNAME.fullmatch(value["username"]):
        return "username must be 1-64 letters, digits, '.', '_' or '-'"
    if not value["name"] or len(value["name"]) > 100:
        return "name is empty or longer than 100 characters"
    try:
        phone = phones.normalise(value["phone"])
    except phones.BadPhone as e:
        return f"phone: {e}"
    areas = frozenset(a.strip() for a in value["areas"].split(";") if a.strip())
    unknown = sorted(a for a in areas if a not in tree)
    if not areas or unknown:
        return f"unknown areas: {', '.join(unknown) or '(none given)'}"
    return Officer(value["username"], value["name"], phone, value["wecom_id"] or None, areas)


def parse_officers(
    rows: Iterable[tuple[int, Mapping[str, str]]], tree: AreaTree
) -> tuple[list[Officer], list[str]]:
    found: dict[str, Officer] = {}
    errors = []
    for line, row in rows:
        checked = _check(row, tree)
        if isinstance(checked, str):
            errors.append(f"line {line}: {checked}")
        elif checked.username in found:
            errors.append(f"line {line}: officer {checked.username} appears again")
        else:
            found[checked.username] = checked
    return list(found.values()), errors


def villages_without_officer(
    villages: Iterable[Area], served: Iterable[frozenset[str]], tree: AreaTree
) -> list[Area]:
    """Villages no officer serves: the plan asks for at least one per community.

    An officer serves a village when it is one of their areas, or one of their areas (an
    extra area such as a harbour) lies inside it. A town-wide officer does not count: one
    person cannot relay door to door in every village of a town.
    """
    covered: set[str] = set()
    for areas in served:
        for code in areas:
            covered.update(
                c for c in tree.ancestors(code) if (a := tree.get(c)) and a.level == "village"
            )
    return [v for v in villages if v.code not in covered]


def village_gaps(tree: AreaTree, served: Iterable[frozenset[str]]) -> tuple[list[Area], list[Area]]:
    """(villages no officer serves, every village) of the tree, in the tree's order."""
    villages = [a for c in tree.codes() if (a := tree.get(c)) and a.level == "village"]
    return villages_without_officer(villages, served, tree), villages


def serves(officer_areas: Iterable[str], targets: Iterable[str], tree: AreaTree) -> bool:
    """True when the officer works in a targeted area: one of their areas lies in a target
    (a village officer, town-wide warning) or a target lies in one of theirs (a town officer,
    village warning). Such officers always get their own message."""
    mine, wanted = list(officer_areas), list(targets)
    return any(tree.is_within(a, wanted) for a in mine) or any(
        tree.is_within(t, mine) for t in wanted
    )
