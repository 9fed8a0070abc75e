"""Reports over a period: the county plan's indicators (`GET /api/v1/reports/kpi`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ewb.services import Services
from reach import coverage, kpi
from reach.report import Report, build, chosen_version
from warning.errors import InvalidInput
from warning.model import Version, Warning
from web.coverage_api import coverage_json
from web.keys import services
from web.responses import json_response
from web.serialize import iso

routes = web.RouteTableDef()
WEIGHTING = "by population: persons reached over persons targeted, over all the warnings"


@dataclass(frozen=True)
class Issued:
    """A warning first issued in the period, with the coverage of its latest version."""

    warning: Warning
    version: Version
    report: Report


def _moment(query: Mapping[str, str], name: str, default: datetime, tz: ZoneInfo) -> datetime:
    """An ISO date (local midnight) or date-time with an offset, from the query."""
    raw = query.get(name)
    if not raw:
        return default
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), tz)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date (2026-01-01) or a time with an offset", field=name
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs an offset (+08:00)", field=name)
    return moment


def period_bounds(
    query: Mapping[str, str], now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """[from, to) of the query; by default this year so far."""
    start = _moment(query, "from", datetime(now.astimezone(tz).year, 1, 1, tzinfo=tz), tz)
    end = _moment(query, "to", now, tz)
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    return start, end


async def issued_in(svc: Services, start: datetime, end: datetime, now: datetime) -> list[Issued]:
    """Every actual warning first issued in [start, end), oldest first, with its coverage
    as of `now`."""
    found = []
    async with svc.store.read() as tx:
        tree = await tx.areas.tree()
        for warning_id in await tx.reach.actual_warnings_issued(start, end):
            warning = (await tx.warnings.get(warning_id)).warning
            version = chosen_version(warning, None)
            found.append(Issued(warning, version, await build(tx, warning, version, tree, now)))
    return found


def _row(issued: Issued, tz: ZoneInfo) -> dict[str, Any]:
    version, report = issued.version, issued.report
    return {
        "warning_id": report.warning_id,
        "version": version.number,
        "hazard": version.hazard,
        "grade": version.grade.value,
        "state": issued.warning.latest.state.value,
        "issued_at": iso(version.issued_at, tz),
        "time_to_95": report.time_to.get(coverage.PUBLIC_TARGET),
        **{k: v for k, v in coverage_json(report.county).items() if k not in ("code", "name")},
    }


@routes.get("/api/v1/reports/kpi")
async def period_kpi(request: web.Request) -> web.Response:
    """Every actual warning first issued in [from, to) with its coverage, and the period's
    indicators against the plan's targets. Default: this year so far."""
    svc = services(request)
    tz = svc.settings.tz
    now = svc.clock()
    start, end = period_bounds(request.query, now, tz)
    found = await issued_in(svc, start, end, now)
    counties = [i.report.county for i in found]
    strict = kpi.strict(counties)
    return json_response(
        {
            "from": iso(start, tz),
            "to": iso(end, tz),
            "count": len(found),
            "warnings": [_row(i, tz) for i in found],
            "indicators": [
                {
                    "name": i.name,
                    "english": i.english,
                    "value": None if i.value is None else round(i.value, 4),
                    "target": i.target,
                    "met": i.met,
                }
                for i in kpi.indicators(counties)
            ],
            "strict": None if strict is None else round(strict, 4),
            "formula": coverage.FORMULA,
            "weighting": WEIGHTING,
        }
    )
