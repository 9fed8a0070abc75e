"""Loudspeakers first: urgent packages during a county-wide resident fan-out.

Imports N sample residents (default 600,000; `--skip-load` reuses them), then for each mode
issues a red typhoon warning for the whole county (its SMS and WeChat fan-out to every
resident), waits until `--running` resident messages went out, and while that fan-out
runs issues a second red warning (rainstorm, county-wide) and then its all-clear. For both
it prints issue → first and → last EBD package, counted where the platform receives them
(the broadcast simulator runs in this process and stamps every package it takes), and
issue → first and → last officers' WeCom message (from the deliveries' `sent` events).
The goal: first package ≤ 2 s, all ≤ 10 s, in both modes.

    .venv/bin/python -m bench.urgent                                    # 600,000 residents
    .venv/bin/python -m bench.urgent --residents 50000 --modes embedded,1

The SMS and WeChat simulators run in their own process (`ewb sim`) with `--latency-ms`;
the providers' rate limits are those of the settings (SMS 50/s unless changed), so the
resident fan-out is still running when the urgent warnings come. PostgreSQL is needed
(default postgresql+asyncpg://postgres@127.0.0.1/ewb_bench; its tables are emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bench.fanout import (
    CHIEF,
    DEFAULT_URL,
    FORECASTER,
    LEADER,
    bench_settings,
    cluster,
    free_port,
    load,
    process,
    reset,
    wait_for_port,
)
from channels.ebd import MSG_ACTUAL, MSG_CANCEL
from config.settings import Settings
from delivery.adapters import build_adapters
from delivery.celery_app import configure
from delivery.dispatch import Queue
from delivery.ratelimit import RateLimiter
from delivery.runner import Runner
from ewb.bootstrap import build_services
from sim import broadcast
from store import tables, unit_of_work
from warning import commands
from warning.actors import Actor


async def issue(settings: Settings, hazard: str, cancel_of: int | None = None) -> tuple[int, float]:
    """Draft (or, with `cancel_of`, revise as an all-clear), approve and issue a red
    county-wide warning; its id and the wall-clock second it was issued."""
    services = build_services(settings)
    store, now = services.store, datetime.now(UTC)
    if cancel_of is None:
        body = {
            "hazard": hazard,
            "grade": "red",
            "areas": ["320921"],
            "onset": (now + timedelta(minutes=30)).isoformat(),
            "expires": (now + timedelta(days=1)).isoformat(),
        }
        warning, _ = await unit_of_work.create(
            store, body, now=now, actor=FORECASTER, action="draft"
        )
        approvers: tuple[Actor, ...] = (CHIEF, LEADER)
    else:
        warning, _ = await unit_of_work.change(
            store,
            cancel_of,
            lambda w, a, r, n: commands.revise(w, "cancel", {}, a, r, n),
            now=now,
            actor=FORECASTER,
            action="revise:cancel",
        )
        approvers = (CHIEF,)
    assert warning.id is not None
    steps = [(FORECASTER, commands.submit, "submit")]
    steps += [(who, commands.approve, "approve") for who in approvers]
    for actor, decide, action in steps:
        await unit_of_work.change(
            store, warning.id, decide, now=datetime.now(UTC), actor=actor, action=action
        )
    issued = time.time()
    await unit_of_work.change(
        store,
        warning.id,
        commands.issue,
        now=datetime.now(UTC),
        actor=CHIEF,
        action="issue",
        needs_sequence=True,
    )
    await store.close()
    return warning.id, issued


async def resident_messages(settings: Settings, warning_id: int) -> int:
    services = build_services(settings)
    d = tables.deliveries
    async with services.store.read() as tx:
        count = (
            await tx.conn.execute(
                select(func.count()).where(
                    d.c.warning_id == warning_id,
                    d.c.recipient_kind == "resident",
                    d.c.state.in_(("sent", "delivered")),
                )
            )
        ).scalar_one()
    await services.store.close()
    return int(count)


async def wecom_times(settings: Settings, warning_id: int, version: int) -> list[float]:
    """When each officer's WeCom message of the version was accepted (its `sent` event)."""
    services = build_services(settings)
    d, e = tables.deliveries, tables.delivery_events
    async with services.store.read() as tx:
        rows = await tx.conn.execute(
            select(e.c.at)
            .join(d, d.c.id == e.c.delivery_id)
            .where(
                d.c.warning_id == warning_id,
                d.c.version == version,
                d.c.recipient_kind == "officer",
                d.c.channel == "wecom",
                e.c.event == "sent",
            )
        )
        times = sorted(r.at.timestamp() for r in rows)
    await services.store.close()
    return times


async def terminals_of(settings: Settings, warning_id: int, version: int) -> int:
    """How many loudspeaker packages the version takes (its terminal batches)."""
    services = build_services(settings)
    b = tables.delivery_batches
    async with services.store.read() as tx:
        count = (
            await tx.conn.execute(
                select(func.count()).where(
                    b.c.warning_id == warning_id,
                    b.c.version == version,
                    b.c.recipient_kind == "terminal",
                )
            )
        ).scalar_one()
    await services.store.close()
    return int(count)


async def urgent(
    settings: Settings,
    platform: web.Application,
    label: str,
    issued_at: float,
    msg_type: int,
    warning_id: int,
    version: int,
) -> None:
    """Wait for the version's packages and officers' messages; print the figures."""
    deadline = time.monotonic() + 120
    while True:
        expected = await terminals_of(settings, warning_id, version)
        got = [
            p.received_at
            for p in platform[broadcast.PACKAGES]
            if p.received_at >= issued_at
            and p.package is not None
            and p.package.ebm is not None
            and p.package.ebm.msg_type == msg_type
        ]
        if expected and len(got) >= expected:
            break
        if time.monotonic() > deadline:
            print(f"    {label}: only {len(got)} of {expected} packages in 120 s")
            for p in platform[broadcast.PACKAGES][-5:]:  # what the platform did take
                kind = p.package.ebd_type if p.package else "unparsed"
                print(f"      took {kind} at {p.received_at - issued_at:+.2f} s: {p.result_desc}")
            return
        await asyncio.sleep(0.2)
    print(
        f"    {label}: EBD package first {min(got) - issued_at:.2f} s, last"
        f" {max(got) - issued_at:.2f} s after the issue ({len(got)} package(s))"
    )
    for _ in range(50):  # the officers' messages, given up to 10 s more
        if wecom := await wecom_times(settings, warning_id, version):
            break
        await asyncio.sleep(0.2)
    if wecom:
        print(
            f"    {label}: officers' WeCom first {wecom[0] - issued_at:.2f} s, last"
            f" {wecom[-1] - issued_at:.2f} s after the issue ({len(wecom)} accepted)"
        )
    else:
        print(f"    {label}: no officer's WeCom message accepted within 10 s of the packages")


async def scenario(settings: Settings, platform: web.Application, running: int, wake: Any) -> None:
    fanout, _ = await issue(settings, "typhoon")
    wake()
    started = time.monotonic()
    while (sent := await resident_messages(settings, fanout)) < running:
        if time.monotonic() - started > 600:
            print(f"    the fan-out sent only {sent:,} resident messages in 600 s")
            return
        await asyncio.sleep(1)
    print(f"    the county fan-out is running ({sent:,} resident messages sent)")
    second, at = await issue(settings, "rainstorm")
    wake()
    await urgent(settings, platform, "second red warning", at, MSG_ACTUAL, second, 1)
    _, at = await issue(settings, "rainstorm", cancel_of=second)
    wake()
    await urgent(settings, platform, "its all-clear", at, MSG_CANCEL, second, 2)
    print(f"    meanwhile {await resident_messages(settings, fanout):,} resident messages sent")


async def embedded(settings: Settings, platform: web.Application, running: int) -> None:
    services = build_services(settings)
    adapters = build_adapters(settings, services.clock)
    runner = Runner(services, adapters, RateLimiter(adapters.rates(settings)))
    task = asyncio.create_task(runner.run())
    try:
        await scenario(settings, platform, running, runner.wake)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.close()
        await adapters.close()
        await services.store.close()


async def distributed(
    settings: Settings, platform: web.Application, running: int, workers: int
) -> None:
    async with cluster(settings, workers, "urgent") as wired:
        queue = Queue(configure(wired))
        try:
            await scenario(wired, platform, running, queue.wake)
        finally:
            await queue.close()


async def run(args: argparse.Namespace, tmp: Path) -> None:
    settings = bench_settings(args.database_url, tmp, args.latency_ms).model_copy(
        update={"rate_limits": {}}  # the providers' own limits: the fan-out takes its time
    )
    if not args.skip_load:
        await load(args.database_url, args.residents, tmp)
    platform = broadcast.create_app(settings)  # in this process: it stamps what it takes
    runner = web.AppRunner(platform)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.sim_broadcast_port).start()
    elsewhere = str(free_port())  # `ewb sim` must not take the broadcast simulator's port
    try:
        async with process(settings, "sim", EWB_SIM_BROADCAST_PORT=elsewhere):
            await wait_for_port(settings.sim_twilio_port)
            await wait_for_port(settings.sim_wechat_port)
            for mode in args.modes.split(","):
                await reset(settings)
                platform[broadcast.PACKAGES].clear()
                print("embedded" if mode == "embedded" else f"distributed, {mode} worker(s)")
                if mode == "embedded":
                    await embedded(settings, platform, args.running)
                else:
                    await distributed(settings, platform, args.running, int(mode))
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=600_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--modes", default="embedded,1")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--running", type=int, default=2000, help="resident messages sent before the urgent ones"
    )
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded residents")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
