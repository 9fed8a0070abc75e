"""Broadcast terminals (village loudspeakers, IP speakers) read from CSV rows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

COLUMNS = ("terminal_id", "name", "area_code", "endpoint_id", "covered_population", "status")
STATUSES = ("online", "offline")


@dataclass(frozen=True)
class Terminal:
    id: str
    name: str
    area_code: str
    endpoint_id: str
    covered_population: int | None  # None: an equal share of the area's population
    status: str


def _check(row: Mapping[str, str], areas: Collection[str]) -> Terminal | str:
    value = {k: (row.get(k) or "").strip() for k in COLUMNS}
    if not value["terminal_id"] or len(value["terminal_id"]) > 40:
        return "terminal_id is empty or longer than 40 characters"
    if not value["name"] or len(value["name"]) > 100:
        return "name is empty or longer than 100 characters"
    if value["area_code"] not in areas:
        return f"unknown area {value['area_code']!r}"
    if not value["endpoint_id"] or len(value["endpoint_id"]) > 64:
        return "endpoint_id is empty or longer than 64 characters"
    covered = None
    if value["covered_population"]:
        try:
            covered = int(value["covered_population"])
        except ValueError:
            covered = -1
        if covered < 0 or not value["covered_population"].isdecimal():
            return "covered_population must be a whole number or empty"
    status = value["status"] or "offline"
    if status not in STATUSES:
        return f"status must be one of {', '.join(STATUSES)}"
    return Terminal(
        value["terminal_id"],
        value["name"],
        value["area_code"],
        value["endpoint_id"],
        covered,
        status,
    )


def parse_terminals(
    rows: Iterable[tuple[int, Mapping[str, str]]], areas: Collection[str]
) -> tuple[list[Terminal], list[str]]:
    """Terminals from numbered CSV rows, and one error per bad row (ids unique in the file)."""
    found: dict[str, Terminal] = {}
    endpoints: set[str] = set()
    errors = []
    for line, row in rows:
        checked = _check(row, areas)
        if isinstance(checked, str):
            errors.append(f"line {line}: {checked}")
        elif checked.id in found:
            errors.append(f"line {line}: terminal {checked.id} appears again")
        elif checked.endpoint_id in endpoints:
            errors.append(f"line {line}: endpoint {checked.endpoint_id} appears again")
        else:
            found[checked.id] = checked
            endpoints.add(checked.endpoint_id)
    return list(found.values()), errors
