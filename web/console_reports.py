"""Console reports: the period's indicators (/console/reports) and each warning's coverage
report (/console/warnings/{id}/report), from the same code as the reports and coverage API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from reach import coverage, html, kpi
from warning import texts
from warning.actors import Role
from warning.errors import InvalidInput
from warning.rules import Rules
from web.coverage_api import version_report
from web.headers import DOCUMENT_CSP
from web.json_body import int_param, path_id
from web.keys import services
from web.pages import page, render
from web.public_page import local_time
from web.reports_api import Issued, issued_in, period_bounds

routes = web.RouteTableDef()
READERS = (Role.FORECASTER, Role.DUTY_CHIEF, Role.LEADER, Role.ADMIN)
BACK = "/console"


def _row(issued: Issued, rules: Rules) -> dict[str, Any]:
    version, county = issued.version, issued.report.county
    return {
        "id": issued.report.warning_id,
        "version": version.number,
        "hazard": rules.catalog.hazard(version.hazard).name["zh-CN"],
        "grade": version.grade,
        "headline": texts.headline(version, rules, "zh-CN"),
        "issued": local_time(version.issued_at, rules.tz),
        "county": county,
    }


@routes.get("/console/reports")
@page(*READERS)
async def period(request: web.Request) -> web.Response:
    """The plan's indicators over [from, to) and the warnings first issued in it."""
    svc = services(request)
    tz, now = svc.settings.tz, svc.clock()
    asked = {name: request.query.get(name, "").strip() for name in ("from", "to")}
    context: dict[str, Any] = {
        "asked": asked,
        "error": None,
        "api": urlencode({k: v for k, v in asked.items() if v}),
    }
    try:
        start, end = period_bounds(asked, now, tz)
    except InvalidInput as e:
        return await render(request, "reports_kpi.html.j2", {**context, "error": e}, status=422)
    found = await issued_in(svc, start, end, now)
    async with svc.store.read() as tx:
        rules = await tx.rules()
    counties = [i.report.county for i in found]
    context.update(
        start=local_time(start, tz),
        end=local_time(end, tz),
        default_from=start.astimezone(tz).date().isoformat(),
        indicators=kpi.indicators(counties),
        strict=kpi.strict(counties),
        rows=[_row(i, rules) for i in found],
        formula=coverage.FORMULA,
    )
    return await render(request, "reports_kpi.html.j2", context)


@routes.get("/console/warnings/{id}/report")
@page(*READERS)
async def warning_report(request: web.Request) -> web.Response:
    """The self-contained coverage report `ewb report --html` writes, of `?version=N`.

    It carries its own inline styles, so it is served without the console's strict CSP."""
    svc = services(request)
    number = int_param(request, "version", low=1)
    async with svc.store.read() as tx:
        version, report, tree = await version_report(tx, path_id(request), number, svc.clock())
        gaps = await html.gap_views(tx, report, tree)
        rules = await tx.rules()
    title = texts.headline(version, rules, "zh-CN")
    document = html.render(report, title, gaps, svc.settings.tz, back=BACK)
    return web.Response(
        text=document,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOCUMENT_CSP,
        },
    )
