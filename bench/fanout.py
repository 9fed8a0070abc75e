"""County fan-out: a red typhoon warning to every resident, officer and loudspeaker.

Imports N sample residents (as bench.segmentation does), starts the simulators in their
own process with 20 ms latency, then for each mode issues a red typhoon warning for the
whole county and times it: issue → all deliveries planned → all accepted by the
simulators, with messages per second per channel. In the same run it measures the
ceiling: the same provider clients (the official twilio async client for SMS, the WeChat
client) sending the same messages in a bare loop, with the same concurrency and the same
number of processes, against the same simulators, with no database. The engine's rate is
printed as a share of that ceiling.

    .venv/bin/python -m bench.fanout                                   # 600,000 residents
    .venv/bin/python -m bench.fanout --residents 50000 --modes embedded,1

Modes: `embedded` (the runner inside one process), `1` and `2` (Celery workers on Redis,
with `ewb scheduler`). PostgreSQL is needed (the database must exist; its tables are
emptied): default postgresql+asyncpg://postgres@127.0.0.1/ewb_bench. Rate limits are
lifted so that the engine, not a provider's limit, is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from bench.segmentation import chunks, prepare
from channels.base import Batch, Message, Outcome
from config.data import OFFICERS_SAMPLE_CSV, read_csv
from config.settings import Settings, load_settings
from delivery.adapters import build_adapters
from delivery.celery_app import configure
from delivery.dispatch import Queue
from delivery.ratelimit import RateLimiter
from delivery.runner import Runner
from ewb.bootstrap import build_services
from store import tables, unit_of_work
from subscribers import importer
from subscribers.officers import COLUMNS as OFFICER_COLUMNS
from subscribers.officers import parse_officers
from subscribers.sample import HEADER, sample_rows
from warning import audit, commands
from warning.actors import Actor, Role

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1/ewb_bench"
REDIS_URL = "redis://127.0.0.1:6379/12"
COUNTY = frozenset({"320921"})
FORECASTER = Actor("bench_forecaster", Role.FORECASTER, "weather", COUNTY)
CHIEF = Actor("bench_chief", Role.DUTY_CHIEF, "weather", COUNTY)
LEADER = Actor("bench_leader", Role.LEADER, "county", COUNTY)
UNLIMITED = {"sms": 1e6, "wechat": 1e6, "wecom": 1e6, "broadcast": 1e6}
BULK = ("sms", "wechat")  # the channels the ceiling is measured on (all but a few hundred)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_settings(url: str, tmp: Path, latency_ms: int) -> Settings:
    return load_settings(
        database_url=url,
        var_dir=tmp,
        broker_url="",
        public_base_url=f"http://127.0.0.1:{free_port()}",  # nobody: callbacks fail fast
        sim_twilio_port=free_port(),
        sim_wechat_port=free_port(),
        sim_broadcast_port=free_port(),
        sim_latency_ms=latency_ms,
        rate_limits=UNLIMITED,
    )


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWB_")}
    for name in (
        "database_url",
        "var_dir",
        "public_base_url",
        "sim_twilio_port",
        "sim_wechat_port",
        "sim_broadcast_port",
        "sim_latency_ms",
        "rate_limits",
    ):
        value = getattr(settings, name)
        env[f"EWB_{name.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    env["EWB_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


@asynccontextmanager
async def process(settings: Settings, *args: str, **env: str):  # type: ignore[no-untyped-def]
    """`python -m ewb ARGS` for the length of the block (logs under var_dir)."""
    log = (settings.var_dir / f"{args[0]}-{len(os.listdir(settings.var_dir))}.log").open("ab")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ewb",
        *args,
        stdout=log,
        stderr=log,
        env=env_of(settings, **env),
        cwd=ROOT,
    )
    try:
        yield child
    finally:
        if child.returncode is None:
            child.terminate()
            await child.wait()
        log.close()


async def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


async def load(url: str, count: int, tmp: Path) -> None:
    villages = await prepare(url)
    path = tmp / "residents.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(sample_rows(villages, count))
    services = build_services(load_settings(database_url=url))
    started = time.perf_counter()
    known = await importer.known_for(services.store, services.catalog)
    report = await importer.import_residents(
        chunks(path), known, importer.StoreWriter(services.store, datetime.now(UTC))
    )
    async with services.store.write() as tx:
        officers, errors = parse_officers(
            read_csv(OFFICERS_SAMPLE_CSV, OFFICER_COLUMNS), await tx.areas.tree()
        )
        assert not errors, errors
        for officer in officers:
            await tx.users.upsert_officer(officer, datetime.now(UTC))
    await services.store.close()
    print(
        f"{report.rows:,} residents and {len(officers)} officers loaded in"
        f" {time.perf_counter() - started:.0f} s"
    )


async def reset(settings: Settings) -> None:
    services = build_services(settings)
    async with services.store.write() as tx:
        for table in (
            tables.reach,
            tables.relay_reports,
            tables.gap_checks,
            tables.delivery_events,
            tables.deliveries,
            tables.delivery_batches,
            tables.approvals,
            tables.warning_versions,
            tables.warnings,
            tables.audit_log,
            tables.outbox,
        ):
            await tx.conn.execute(delete(table))
        await tx.conn.execute(update(tables.audit_head).values(seq=0, hash=audit.GENESIS))
    await services.store.close()


async def issue_red(settings: Settings) -> tuple[int, datetime]:
    """Draft, approve and issue a red typhoon warning for the county; (id, issued at)."""
    services = build_services(settings)
    now = datetime.now(UTC)
    body = {
        "hazard": "typhoon",
        "grade": "red",
        "areas": ["320921"],
        "onset": (now + timedelta(minutes=30)).isoformat(),
        "expires": (now + timedelta(days=1)).isoformat(),
    }
    store = services.store
    warning, _ = await unit_of_work.create(store, body, now=now, actor=FORECASTER, action="draft")
    assert warning.id is not None
    for actor, decide, action in (
        (FORECASTER, commands.submit, "submit"),
        (CHIEF, commands.approve, "approve"),
        (LEADER, commands.approve, "approve"),
    ):
        await unit_of_work.change(
            store, warning.id, decide, now=datetime.now(UTC), actor=actor, action=action
        )
    issued_at = datetime.now(UTC)
    await unit_of_work.change(
        store,
        warning.id,
        commands.issue,
        now=issued_at,
        actor=CHIEF,
        action="issue",
        needs_sequence=True,
    )
    await store.close()
    return warning.id, issued_at


async def until_done(settings: Settings, warning_id: int) -> dict[str, Any]:
    """Poll until every delivery is final; then the timings from the database."""
    services = build_services(settings)
    last = 0.0
    while True:
        async with services.store.read() as tx:
            found = await tx.progress.progress(warning_id, 1, datetime.now(UTC))
        if found.planned and found.open == 0:
            break
        done = found.total - found.open
        if time.monotonic() - last > 10:
            print(f"    … {done:,} of {found.total:,} final", flush=True)
            last = time.monotonic()
        await asyncio.sleep(2)  # the progress query is not free: it would slow the engine
    d, e = tables.deliveries, tables.delivery_events
    async with services.store.read() as tx:
        planned_at = (
            await tx.conn.execute(
                select(tables.outbox.c.processed_at).where(tables.outbox.c.warning_id == warning_id)
            )
        ).scalar_one()
        per_channel = (
            await tx.conn.execute(
                select(d.c.channel, func.count(), func.min(e.c.at), func.max(e.c.at))
                .join(e, e.c.delivery_id == d.c.id)
                .where(d.c.warning_id == warning_id, e.c.event.in_(("sent", "failed")))
                .group_by(d.c.channel)
            )
        ).all()
        messages = [
            (r.channel, r.address)
            for r in await tx.conn.execute(
                select(d.c.channel, d.c.address).where(
                    d.c.warning_id == warning_id, d.c.channel.in_(BULK)
                )
            )
        ]
    await services.store.close()
    return {
        "planned_at": planned_at,
        "channels": {r[0]: (r[1], r[2], r[3]) for r in per_channel},
        "messages": messages,
        "resent_after_crash": found.resent_after_crash,
    }


def report(label: str, issued_at: datetime, found: dict[str, Any]) -> float:
    """Print the timings; returns the bulk channels' messages per second."""
    channels = found["channels"]
    finished = max(last for _, _, last in channels.values())
    planned_s = (found["planned_at"] - issued_at).total_seconds()
    total_s = (finished - issued_at).total_seconds()
    print(
        f"  {label}: planned in {planned_s:.1f} s, all answered by the simulators in"
        f" {total_s:.1f} s after the issue"
    )
    for channel, (count, first, last) in sorted(channels.items()):
        span = max((last - first).total_seconds(), 1e-3)
        print(f"    {channel}: {count:,} answers in {span:.1f} s = {count / span:,.0f}/s")
    bulk = sum(channels[c][0] for c in BULK if c in channels)
    first = min(channels[c][1] for c in BULK if c in channels)
    last = max(channels[c][2] for c in BULK if c in channels)
    rate = bulk / max((last - first).total_seconds(), 1e-3)
    print(f"    sms + wechat: {rate:,.0f} messages/s (first send to last answer)")
    return rate


async def embedded(settings: Settings) -> tuple[datetime, dict[str, Any], int]:
    services = build_services(settings)
    adapters = build_adapters(settings, services.clock)
    runner = Runner(services, adapters, RateLimiter({}))
    task = asyncio.create_task(runner.run())
    try:
        warning_id, issued_at = await issue_red(settings)
        runner.wake()
        found = await until_done(settings, warning_id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.close()
        await adapters.close()
        await services.store.close()
    return issued_at, found, 1


@asynccontextmanager
async def cluster(settings: Settings, workers: int, name: str) -> AsyncIterator[Settings]:
    """`workers` Celery workers and `ewb scheduler` on an emptied Redis database, for the
    length of the block; the settings that point at them."""
    from redis.asyncio import Redis

    wired = settings.model_copy(update={"broker_url": REDIS_URL})
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    env = {"EWB_BROKER_URL": REDIS_URL}
    async with AsyncExitStack() as stack:
        for n in range(workers):
            await stack.enter_async_context(
                process(wired, "worker", "--name", f"{name}{n}@%h", **env)
            )
        await stack.enter_async_context(process(wired, "scheduler", **env))
        await asyncio.sleep(3)  # the workers connect
        yield wired


async def distributed(settings: Settings, workers: int) -> tuple[datetime, dict[str, Any], int]:
    async with cluster(settings, workers, "bench") as wired:
        warning_id, issued_at = await issue_red(wired)
        queue = Queue(configure(wired))
        queue.wake()  # as `ewb serve` does after the commit
        found = await until_done(wired, warning_id)
        await queue.close()
    return issued_at, found, workers


def _ceiling_process(
    settings: Settings, messages: list[tuple[str, str]], start: float, ends: Any
) -> None:
    ends.put(asyncio.run(_bare_loop(settings, messages, start)))


async def _bare_loop(settings: Settings, messages: list[tuple[str, str]], start: float) -> float:
    """The provider clients alone: every message sent as fast as they go; returns the
    time of the last answer (process start-up and shutdown are not counted)."""
    adapters = build_adapters(settings, datetime.now)
    text = "【响水县气象台】台风红色预警：请立即回港避风，停止户外作业，转移危险区域人员。"
    by_channel = {
        channel: Batch(
            channel,
            tuple(
                Message(n, address, text, "台风红色预警")
                for n, (c, address) in enumerate(messages)
                if c == channel
            ),
        )
        for channel in BULK
    }
    await asyncio.sleep(max(0.0, start - time.time()))
    results = await asyncio.gather(*(adapters[c].send(b) for c, b in by_channel.items()))
    finished = time.time()
    await adapters.close()
    answered = sum(1 for rs in results for r in rs if r.outcome in Outcome)
    assert answered == len(messages)
    return finished


def ceiling(settings: Settings, messages: list[tuple[str, str]], processes: int) -> float:
    """The same messages through the same clients in `processes` processes; messages/s."""
    context = multiprocessing.get_context("spawn")
    start = time.time() + 3  # all processes begin together, after their imports
    shares = [messages[n::processes] for n in range(processes)]
    ends = context.Queue()
    children = [
        context.Process(target=_ceiling_process, args=(settings, share, start, ends))
        for share in shares
    ]
    for child in children:
        child.start()
    finished = [ends.get(timeout=3600) for _ in children]
    for child in children:
        child.join()
        assert child.exitcode == 0, "a ceiling process failed"
    return len(messages) / (max(finished) - start)


async def run(args: argparse.Namespace, tmp: Path) -> None:
    settings = bench_settings(args.database_url, tmp, args.latency_ms)
    if not args.skip_load:
        await load(args.database_url, args.residents, tmp)
    print(f"simulators: {args.latency_ms} ms latency, in their own process")
    async with process(settings, "sim"):
        await wait_for_port(settings.sim_twilio_port)
        await wait_for_port(settings.sim_wechat_port)
        for mode in args.modes.split(","):
            await reset(settings)
            label = "embedded" if mode == "embedded" else f"distributed, {mode} worker(s)"
            issued_at, found, processes = (
                await embedded(settings)
                if mode == "embedded"
                else await distributed(settings, int(mode))
            )
            rate = report(label, issued_at, found)
            top = ceiling(settings, found["messages"], processes)
            print(
                f"    ceiling ({processes} process(es), same clients, no database):"
                f" {top:,.0f} messages/s → the engine reaches {rate / top:.0%} of it"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=600_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--modes", default="embedded,1,2")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded residents")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
