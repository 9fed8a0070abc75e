"""Reach over HTTP: officers' relay reports, and a warning's coverage as JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from ewb.services import Services
from reach import coverage
from reach.coverage import Coverage
from reach.report import Report, build, chosen_version
from store.db import Tx
from store.reach import RelayReport
from store.unit_of_work import audit_refusal
from subscribers import access
from warning.actors import Actor, Role
from warning.areas import AreaTree
from warning.errors import DomainError, InvalidInput, PermissionDenied
from warning.model import Version
from web.json_body import int_param, json_object, path_id
from web.keys import actor, services
from web.responses import json_response
from web.serialize import iso

routes = web.RouteTableDef()
MAX_NOTE = 1000
MAX_NAMED = 5000


def coverage_json(c: Coverage) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name,
        "population": c.population,
        "individual": c.individual,
        "strict": round(c.strict, 4),
        "broadcast_population": round(c.broadcast_population),
        "broadcast": round(c.broadcast, 4),
        "relayed_households": c.relayed_households,
        "relayed_population": round(c.relayed_population),
        "estimated": round(c.estimated, 4),
        "meets_public_target": c.meets_public_target,
        "meets_broadcast_target": c.meets_broadcast_target,
        "terminals": c.terminals,
        "terminals_played": c.terminals_played,
        "unreachable": c.unreachable,
    }


def report_json(report: Report, tz: Any) -> dict[str, Any]:
    return {
        "warning_id": report.warning_id,
        "version": report.version,
        "hazard": report.hazard,
        "grade": report.grade,
        "mode": report.mode,
        "issued_at": iso(report.issued_at, tz),
        "generated_at": iso(report.generated_at, tz),
        "targets": {"public": coverage.PUBLIC_TARGET, "broadcast": coverage.BROADCAST_TARGET},
        "formula": coverage.FORMULA,
        "county": coverage_json(report.county),
        "towns": [coverage_json(c) for c in report.towns],
        "areas": [{**coverage_json(c), "town": a.town} for a, c in report.areas],
        "groups": [
            {"group": b.key, "planned": b.planned, "reached": b.reached} for b in report.groups
        ],
        "channels": [
            {"channel": b.key, "planned": b.planned, "reached": b.reached} for b in report.channels
        ],
        "time_to": {f"{level:g}": seconds for level, seconds in report.time_to.items()},
        "timeline": [[second, round(value, 4)] for second, value in report.timeline],
        "gaps": [
            {
                **coverage_json(g.area),
                "town": g.town,
                "officers": list(g.officers),
                "unreachable_residents": (
                    f"/api/v1/warnings/{report.warning_id}/unreachable"
                    f"?version={report.version}&area={g.area.code}"
                ),
            }
            for g in report.gaps
        ],
    }


async def version_report(
    tx: Tx, warning_id: int, number: int | None, now: datetime
) -> tuple[Version, Report, AreaTree]:
    """Coverage of version `number`, by default of the latest issued version (not an
    all-clear); 404 for an unknown warning or version, 409 for one never issued."""
    warning = (await tx.warnings.get(warning_id)).warning
    version = chosen_version(warning, number)
    tree = await tx.areas.tree()
    return version, await build(tx, warning, version, tree, now), tree


async def _report(request: web.Request) -> Report:
    """Coverage of `?version=N`, by default of the latest issued version (not an all-clear)."""
    svc = services(request)
    number = int_param(request, "version", low=1)
    async with svc.store.read() as tx:
        _, report, _ = await version_report(tx, path_id(request), number, svc.clock())
    return report


@routes.get("/api/v1/warnings/{id}/coverage")
async def show(request: web.Request) -> web.Response:
    """Coverage per area, town and county against the targets, with the gap list."""
    report = await _report(request)
    return json_response(report_json(report, services(request).settings.tz))


CSV_COLUMNS = (
    "level",
    "code",
    "name",
    "town",
    "population",
    "individual",
    "strict",
    "broadcast_population",
    "broadcast",
    "relayed_households",
    "relayed_population",
    "estimated",
    "meets_public_target",
    "terminals",
    "terminals_played",
    "unreachable",
)


def report_csv(report: Report) -> str:
    """One row per area, then per town, then the county."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    rows = [("area", a.town, c) for a, c in report.areas]
    rows += [("town", c.code, c) for c in report.towns]
    rows.append(("county", "", report.county))
    for level, town, c in rows:
        writer.writerow({**coverage_json(c), "level": level, "town": town})
    return out.getvalue()


@routes.get("/api/v1/warnings/{id}/coverage.csv")
async def show_csv(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.Response(
        text=report_csv(report),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="coverage-{report.warning_id}-v{report.version}.csv"'
            )
        },
    )


def _relay_body(body: dict[str, Any]) -> tuple[str, int, list[int], str | None]:
    unknown = sorted(set(body) - {"area", "households", "residents", "note"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    area = body.get("area")
    if not isinstance(area, str) or not area:
        raise InvalidInput("area must be the code of the village relayed in", field="area")
    households = body.get("households")
    if not isinstance(households, int) or isinstance(households, bool) or households < 0:
        raise InvalidInput("households must be a whole number, 0 or more", field="households")
    named = body.get("residents", [])
    if (
        not isinstance(named, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in named)
        or len(named) > MAX_NAMED
    ):
        raise InvalidInput(
            f"residents must be a list of at most {MAX_NAMED} resident ids", field="residents"
        )
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise InvalidInput(f"note must be text of at most {MAX_NOTE} characters", field="note")
    if households == 0 and not named:
        raise InvalidInput(
            "a relay report names households or residents reached", field="households"
        )
    return area, households, sorted(set(named)), note


def _check_area(who: Actor, area: str, version: Version, tree: AreaTree, leaves: set[str]) -> None:
    if area not in tree:
        raise InvalidInput(f"unknown area {area!r}", field="area")
    access.require_areas(who, [area], tree)
    if not tree.is_within(area, version.areas):
        raise InvalidInput(
            f"{tree.name(area)} ({area}) is not in this warning's areas", field="area"
        )
    if area not in leaves:
        raise InvalidInput(
            f"{tree.name(area)} ({area}) has areas under it: report per village", field="area"
        )


async def report_relay(
    svc: Services,
    who: Actor,
    warning_id: int,
    number: Callable[[], int | None],
    body: Callable[[], Awaitable[dict[str, Any]]],
) -> RelayReport:
    """`who` reports relaying the warning in a village of their scope; every refusal is
    audited. The version (`number`, None for the latest issued) and the report (`body`,
    the API's JSON fields) are read only once the role is allowed.

    The API and the officer's console page both report relays through this."""
    async with svc.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
    assert warning.id is not None
    chosen: int | None = None
    try:
        if who.role is not Role.INFO_OFFICER:
            raise PermissionDenied(
                f"a {who.role.value} may not report a relay (allowed: info_officer)", rule="role"
            )
        version = chosen_version(warning, number())
        chosen = version.number
        area, households, named, note = _relay_body(await body())
        async with svc.store.write() as tx:
            tree = await tx.areas.tree()
            leaves = {code for code, *_ in await tx.reach.leaf_areas(version.areas)}
            _check_area(who, area, version, tree, leaves)
            total = next(f.households for f in await tx.areas.figures([area]))
            if total > 0 and households > total:
                raise InvalidInput(
                    f"{tree.name(area)} has {total} households, not {households}",
                    field="households",
                )
            strangers = await tx.residents.not_in_area(named, area)
            if strangers:
                raise InvalidInput(
                    f"residents not living in {tree.name(area)}: {strangers[:10]}",
                    field="residents",
                )
            relay = await tx.reach.add_relay(
                warning.id, version.number, area, who.username, households, named, note, svc.clock()
            )
            await tx.audit.append(
                at=svc.clock(),
                actor=who.username,
                action="relay.report",
                warning_id=warning.id,
                version=version.number,
                outcome="ok",
                details={"area": area, "households": households, "residents": len(named)},
            )
    except DomainError as e:
        await audit_refusal(
            svc.store,
            now=svc.clock(),
            actor=who.username,
            action="relay.report",
            warning_id=warning.id,
            version=chosen,
            error=e,
        )
        raise
    return relay


@routes.post("/api/v1/warnings/{id}/relays")
async def add_relay(request: web.Request) -> web.Response:
    """An information officer reports relaying the warning in a village of their scope."""
    svc = services(request)
    relay = await report_relay(
        svc,
        actor(request),
        path_id(request),
        lambda: int_param(request, "version", low=1),
        lambda: json_object(request),
    )
    return json_response(
        {
            "id": relay.id,
            "warning_id": relay.warning_id,
            "version": relay.version,
            "area": relay.area_code,
            "officer": relay.officer,
            "households": relay.households,
            "residents": relay.residents,
            "note": relay.note,
            "created_at": iso(relay.created_at, svc.settings.tz),
        },
        status=201,
    )
