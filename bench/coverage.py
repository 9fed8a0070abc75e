"""Coverage during a county fan-out: how long a refresh takes, and time to 95 %.

Imports N sample residents (as bench.fanout does; `--skip-load` reuses them), runs
`ewb serve` (API, webhooks, the embedded runner) and `ewb sim` (default latencies, so
SMS `delivered` callbacks and loudspeaker `played` acks arrive as in sandbox mode) in
their own processes, issues a red typhoon warning for the whole county, and while it
fans out computes the full coverage report (`reach.report.build`: every area, town and
the county, groups, channels, timeline) again and again, timing each refresh. At the end
it prints the refresh times, the time from issue to 50/90/95 % estimated coverage, and
the final coverage.

    .venv/bin/python -m bench.coverage                      # 600,000 residents
    .venv/bin/python -m bench.coverage --residents 50000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.fanout import DEFAULT_URL, free_port, issue_red, load, process, reset, wait_for_port
from config.settings import Settings, load_settings
from ewb.bootstrap import build_services
from reach.report import build


def bench_settings(url: str, tmp: Path) -> Settings:
    app_port = free_port()
    return load_settings(
        database_url=url,
        var_dir=tmp,
        broker_url="",
        public_base_url=f"http://127.0.0.1:{app_port}",
        sim_twilio_port=free_port(),
        sim_wechat_port=free_port(),
        sim_broadcast_port=free_port(),
        rate_limits={"sms": 1e6, "wechat": 1e6, "wecom": 1e6, "broadcast": 1e6},
    )


async def refresh_loop(settings: Settings, warning_id: int, pause: float) -> list[float]:
    """Build the report until the fan-out is over and callbacks stopped; seconds each."""
    services = build_services(settings)
    times: list[float] = []
    last_reached, quiet = -1, 0
    try:
        while True:
            started = time.perf_counter()
            async with services.store.read() as tx:
                warning = (await tx.warnings.get(warning_id)).warning
                report = await build(
                    tx, warning, warning.version(1), await tx.areas.tree(), datetime.now(UTC)
                )
                progress = await tx.progress.progress(warning_id, 1, datetime.now(UTC))
            times.append(time.perf_counter() - started)
            reached = report.county.individual + report.county.terminals_played
            print(
                f"    refresh {len(times)}: {times[-1]:.2f} s; estimated"
                f" {report.county.estimated:.1%}, {reached:,} reached, {progress.open:,} open",
                flush=True,
            )
            if progress.planned and progress.open == 0 and reached == last_reached:
                quiet += 1
                if quiet >= 3:
                    return times
            else:
                quiet = 0
            last_reached = reached
            await asyncio.sleep(pause)
    finally:
        await services.store.close()


async def run(args: argparse.Namespace, tmp: Path) -> None:
    settings = bench_settings(args.database_url, tmp)
    if not args.skip_load:
        await load(args.database_url, args.residents, tmp)
    await reset(settings)
    env = {"EWB_LOG_LEVEL": "WARNING"}
    port = int(settings.public_base_url.rsplit(":", 1)[1])
    async with (
        process(settings, "sim", **env),
        process(settings, "serve", "--port", str(port), **env),
    ):
        await wait_for_port(settings.sim_twilio_port)
        await wait_for_port(port)
        warning_id, _ = await issue_red(settings)
        print(f"warning {warning_id} issued; refreshing the coverage report every {args.pause} s")
        times = await refresh_loop(settings, warning_id, args.pause)
    services = build_services(settings)
    async with services.store.read() as tx:
        warning = (await tx.warnings.get(warning_id)).warning
        report = await build(
            tx, warning, warning.version(1), await tx.areas.tree(), datetime.now(UTC)
        )
    await services.store.close()
    print(
        f"  coverage refresh: {len(times)} refreshes, median {statistics.median(times):.2f} s,"
        f" max {max(times):.2f} s (every area, town, group, channel and the timeline)"
    )
    for level, seconds in report.time_to.items():
        reached = f"{seconds} s after the issue" if seconds is not None else "not reached"
        print(f"  estimated coverage {level:.0%}: {reached}")
    print(
        f"  final: estimated {report.county.estimated:.1%}, strict {report.county.strict:.1%},"
        f" broadcast {report.county.broadcast:.1%} of {report.county.population:,} people;"
        f" {report.county.unreachable:,} unreachable; {len(report.gaps)} villages below 95 %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=600_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between refreshes")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded residents")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
