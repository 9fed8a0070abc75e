"""The coverage report as one self-contained HTML file (`ewb report --html`).

Tables, the two charts as inline SVG, the gap list with each area's unreachable residents
(phones masked) and officers, and the formula: readable offline, without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reach import charts, coverage
from reach.coverage import Coverage
from reach.report import Report
from store.db import Tx
from subscribers import phones
from warning.areas import AreaTree

REPORTS_DIR = Path(__file__).resolve().parents[1] / "templates" / "reports"
LISTED = 50  # unreachable residents listed per gap area; the rest are counted

_ENV = Environment(
    loader=FileSystemLoader(REPORTS_DIR),
    undefined=StrictUndefined,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Person:
    name: str
    phone: str
    channels: str


@dataclass(frozen=True)
class GapView:
    area: Coverage
    town_name: str
    officers: list[str]
    residents: list[Person]
    more: int


async def gap_views(tx: Tx, report: Report, tree: AreaTree) -> list[GapView]:
    """Each gap with its officers by name and its first unreachable residents."""
    names = {o.username: o.name or o.username for o in await tx.users.officers()}
    views = []
    for gap in report.gaps:
        people = await tx.progress.unreached(report.warning_id, report.version, [gap.area.code])
        views.append(
            GapView(
                area=gap.area,
                town_name=tree.name(gap.town) if gap.town in tree else gap.town,
                officers=[f"{names.get(u, u)} ({u})" for u in gap.officers],
                residents=[
                    Person(p.name, phones.mask(p.phone) or "—", "、".join(p.channels) or "—")
                    for p in people[:LISTED]
                ],
                more=max(0, len(people) - LISTED),
            )
        )
    return views


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "未达到 / not reached"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} 分 {rest} 秒 / {minutes} min {rest} s"


def render(
    report: Report, title: str, gaps: list[GapView], tz: ZoneInfo, *, back: str | None = None
) -> str:
    """The document; `back`, when served by the console, is the link back to it."""

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"

    return _ENV.get_template("coverage.html.j2").render(
        report=report,
        title=title,
        issued=when(report.issued_at),
        generated=when(report.generated_at),
        targets={"public": coverage.PUBLIC_TARGET, "broadcast": coverage.BROADCAST_TARGET},
        line=charts.coverage_over_time(report.timeline),
        bars=charts.coverage_by_town(report.towns),
        gaps=gaps,
        areas=[c for _, c in report.areas],
        formula=coverage.FORMULA,
        pct=_pct,
        num=_num,
        duration=_duration,
        back=back,
    )
