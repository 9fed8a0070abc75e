"""GET /healthz (the process answers) and GET /readyz (it can do its work).

`/readyz` checks, each within CHECK_SECONDS: the database answers and is at the code's
schema revision; in the distributed mode Redis answers and an `ewb scheduler` holds its
lock; embedded, the delivery runner went round its loop within the last
`max(30 s, 3 × runner_poll_seconds)`. 200 with every check's result, or 503 naming what
failed. Neither needs a token: load balancers and process supervisors call them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from delivery.runner import Runner
from delivery.scheduler import LOCK
from store import migrate
from web.keys import RUNNER, services
from web.responses import json_response

routes = web.RouteTableDef()
CHECK_SECONDS = 3.0


@routes.get("/healthz")
async def alive(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def ready(request: web.Request) -> web.Response:
    svc = services(request)
    checks: dict[str, Awaitable[str]] = {"database": _database(request)}
    if svc.settings.distributed:
        checks["redis"] = _redis(svc.settings.broker_url)
    else:
        checks["runner"] = _runner(request)
    results = dict(zip(checks, await asyncio.gather(*map(_bounded, checks.values())), strict=True))
    failed = {name: text for name, text in results.items() if not text.startswith("ok")}
    body: dict[str, Any] = {"checks": results}
    if failed:
        message = "; ".join(f"{name}: {text}" for name, text in failed.items())
        return json_response({"error": "not_ready", "message": message, **body}, status=503)
    return json_response({"status": "ready", **body})


async def _bounded(check: Awaitable[str]) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await check
    except TimeoutError:
        return f"no answer within {CHECK_SECONDS:.0f} s"
    except Exception as e:  # what is unreachable says so in its own words
        return f"{type(e).__name__}: {e}"[:300]


async def _database(request: web.Request) -> str:
    current, head = await migrate.status(services(request).store.engine)
    if current != head:
        return f"at schema revision {current or 'none'}, the code needs {head} (ewb db upgrade)"
    return f"ok (schema {current})"


async def _redis(url: str) -> str:
    redis = Redis.from_url(url, socket_timeout=CHECK_SECONDS)
    try:
        await redis.ping()
        if not await redis.exists(LOCK):
            return "answers, but no ewb scheduler holds its lock (start `ewb scheduler`)"
        return "ok (an ewb scheduler holds the lock)"
    finally:
        await redis.aclose()


async def _runner(request: web.Request) -> str:
    runner = request.app.get(RUNNER)
    if not isinstance(runner, Runner):
        return "no delivery runner in this process"
    if runner.looped_at is None:
        return "the delivery runner has not started its loop"
    age = asyncio.get_running_loop().time() - runner.looped_at
    limit = max(30.0, 3 * services(request).settings.runner_poll_seconds)
    if age > limit:
        return f"the delivery runner's last round was {age:.0f} s ago (over {limit:.0f} s)"
    return f"ok (last round {age:.1f} s ago)"
