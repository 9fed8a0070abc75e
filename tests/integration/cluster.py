"""The distributed mode under test: ewb serving (it enqueues after each issue), the three
simulators, and real `ewb worker` / `ewb scheduler` processes on Redis and PostgreSQL.

Everything runs on the real clock here: the workers and the scheduler are other processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from config.settings import Settings, load_settings
from ewb.bootstrap import build_services, make_app
from ewb.services import Services
from sim.run import simulators
from tests.integration.cli import ROOT
from tests.integration.conftest import Api
from tests.integration.servers import bound_socket, serve

REDIS_URL = os.environ.get("EWB_TEST_REDIS", "redis://127.0.0.1:6379/13")
UNLIMITED = {"sms": 100000.0, "wechat": 100000.0, "wecom": 100000.0, "broadcast": 100000.0}


def real_time_body(**overrides: object) -> dict[str, object]:
    """Onset and expiry around the real now: the scheduler process expires by its clock."""
    now = datetime.now(UTC)
    return {
        "onset": (now + timedelta(minutes=5)).isoformat(),
        "expires": (now + timedelta(days=1)).isoformat(),
        **overrides,
    }


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWB_")}
    for name in (
        "database_url",
        "var_dir",
        "broker_url",
        "public_base_url",
        "sim_twilio_port",
        "sim_wechat_port",
        "sim_broadcast_port",
        "batch_size",
        "claim_chunk",
        "chunks_in_flight",
        "retry_base_seconds",
        "retry_max_seconds",
        "retry_max_age_seconds",
        "sweep_seconds",
        "batch_stale_seconds",
        "batch_requeue_seconds",
        "scheduler_lock_seconds",
        "rate_limits",
        "log_level",
    ):
        value = getattr(settings, name)
        env[f"EWB_{name.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    return env


@dataclass
class Cluster:
    settings: Settings
    services: Services
    api: Api
    sims: dict[str, web.Application]
    redis: Redis
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    async def start(self, role: str, name: str, *options: str) -> asyncio.subprocess.Process:
        """`ewb worker` or `ewb scheduler` (with these command-line `options`), logging to a
        file under var_dir."""
        log = open(self.settings.var_dir / f"{name}.log", "ab")  # noqa: ASYNC230, SIM115
        args = ["worker", "--name", f"{name}@test"] if role == "worker" else [role]
        args.extend(options)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ewb",
            *args,
            stdout=log,
            stderr=log,
            env=_env(self.settings),
            cwd=ROOT,
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.settings.var_dir / f"{name}.log").read_text(errors="replace")

    async def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(15):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()

    async def progress(self, warning_id: int) -> dict[str, Any]:
        reply = await self.api.get(f"/warnings/{warning_id}/progress")
        assert reply.status == 200, reply.body
        body: dict[str, Any] = reply.body
        return body

    async def until_done(self, warning_id: int, seconds: float = 90) -> dict[str, Any]:
        """Poll the progress until the fan-out is done (a worker's log on failure)."""
        for _ in range(int(seconds / 0.2)):
            found = await self.progress(warning_id)
            if found["done"]:
                return found
            await asyncio.sleep(0.2)
        logs = "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in self.processes)
        raise AssertionError(f"fan-out not done in {seconds} s: {found}\n{logs}")


@asynccontextmanager
async def cluster(settings: Settings, **overrides: Any) -> AsyncIterator[Cluster]:
    """ewb in distributed mode on the test's PostgreSQL database, with an empty Redis."""
    if settings.db_url.startswith("sqlite"):
        pytest.skip("the distributed mode runs on PostgreSQL only")
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    app_sock = bound_socket()
    socks = {name: bound_socket() for name in ("twilio", "wechat", "broadcast")}
    base_url = f"http://127.0.0.1:{app_sock.getsockname()[1]}"
    wired = load_settings(
        **{
            "database_url": settings.database_url,
            "var_dir": settings.var_dir,
            "broker_url": REDIS_URL,
            "public_base_url": base_url,
            "sim_twilio_port": socks["twilio"].getsockname()[1],
            "sim_wechat_port": socks["wechat"].getsockname()[1],
            "sim_broadcast_port": socks["broadcast"].getsockname()[1],
            "webhook_grace_seconds": 1,
            "batch_size": 25,
            "claim_chunk": 10,
            "retry_base_seconds": 0.5,
            "retry_max_seconds": 1,
            "retry_max_age_seconds": 600,
            "sweep_seconds": 0.5,
            "batch_stale_seconds": 3,
            "batch_requeue_seconds": 5,
            "scheduler_lock_seconds": 3,
            "rate_limits": UNLIMITED,
            **overrides,
        }
    )
    services = build_services(wired)
    c: Cluster | None = None
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(make_app(wired), app_sock))
        sims = await stack.enter_async_context(simulators(wired, terminals=[], sockets=socks))
        session = await stack.enter_async_context(aiohttp.ClientSession(base_url=base_url))
        c = Cluster(wired, services, Api(session), sims, redis)  # type: ignore[arg-type]
        try:
            yield c
        finally:
            await c.stop_all()
            await redis.aclose()
            await services.store.close()
