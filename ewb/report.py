"""`ewb report WARNING_ID [--html FILE]`: a warning's coverage per town against 95 %."""

from __future__ import annotations

import argparse
from pathlib import Path

from config.settings import Settings
from ewb.admin import AdminError, services_for
from reach import coverage, html
from reach.report import Report, build, chosen_version
from warning import texts
from warning.errors import DomainError


def table(report: Report) -> str:
    """The per-town table and the county line, as the terminal shows them."""
    head = f"{'town / 镇':<24}{'population':>12}{'individual':>12}{'broadcast':>11}"
    head += f"{'estimated':>11}  target {coverage.PUBLIC_TARGET:.0%}"
    lines = [head]
    for c in [*report.towns, report.county]:
        mark = "ok" if c.meets_public_target else "BELOW"
        label = f"{c.name} ({c.code})" if c is not report.county else f"county {c.name}"
        lines.append(
            f"{label:<24}{c.population:>12,}{c.individual:>12,}{c.broadcast:>11.1%}"
            f"{c.estimated:>11.1%}  {mark}"
        )
    reached = ", ".join(
        f"{level:.0%} in {seconds // 60} min {seconds % 60} s"
        if seconds is not None
        else f"{level:.0%} not reached"
        for level, seconds in report.time_to.items()
    )
    lines.append(f"time from issue to estimated coverage: {reached}")
    lines.append(
        f"{len(report.gaps)} area(s) below {coverage.PUBLIC_TARGET:.0%}, "
        f"{report.county.unreachable:,} unreachable resident(s)"
    )
    lines.append(f"strict coverage (individually confirmed): {report.county.strict:.1%}")
    return "\n".join(lines)


async def report(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services, services.store.read() as tx:
        try:
            warning = (await tx.warnings.get(args.warning_id)).warning
            version = chosen_version(warning, args.version)
        except DomainError as e:
            raise AdminError(e.message) from e
        tree = await tx.areas.tree()
        rules = await tx.rules()
        found = await build(tx, warning, version, tree, services.clock())
        gaps = await html.gap_views(tx, found, tree) if args.html else []
    title = texts.headline(version, rules, "zh-CN")
    print(f"warning {found.warning_id} version {found.version}: {title}")
    print(table(found))
    if args.html:
        written = write(args.html, html.render(found, title, gaps, settings.tz))
        print(f"HTML report: {written}")
    return 0


def write(path: Path, text: str) -> Path:
    """Write the report (and its folder); its absolute path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.resolve()
