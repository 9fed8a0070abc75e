"""The background work of each process: the runner and timers, or the scheduler's timers.

Embedded mode (no broker): `ewb serve` runs the delivery runner and the timers itself.
Distributed mode: `ewb serve` only hands issued versions to the workers; `ewb worker`
sends; `ewb scheduler` runs the timers and the sweep, one instance at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from channels.broadcast_link import PlatformLink
from config import providers
from config.settings import Settings
from delivery import scheduler
from delivery.adapters import build_adapters
from delivery.celery_app import configure
from delivery.dispatch import Queue
from delivery.ratelimit import RateLimiter
from delivery.runner import Runner
from ewb.bootstrap import build_services
from web.keys import RUNNER, SERVICES


async def embedded_ctx(app: web.Application) -> AsyncIterator[None]:
    """The delivery runner and the timers, running while the app is up."""
    services = app[SERVICES]
    adapters = build_adapters(services.settings, services.clock)
    runner = Runner(services, adapters, RateLimiter(adapters.rates(services.settings)))
    app[RUNNER] = runner
    task = asyncio.create_task(runner.run())
    link = PlatformLink(providers.broadcast(services.settings), adapters.session, services.clock)
    timers = scheduler.build(services, runner, link=link)
    timers.start()
    yield
    timers.shutdown(wait=False)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await runner.close()
    await adapters.close()


async def distributed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Issued versions are handed to the Celery workers once committed."""
    queue = Queue(configure(app[SERVICES].settings))
    app[RUNNER] = queue
    yield
    await queue.close()


async def run_scheduler(settings: Settings) -> None:
    """`ewb scheduler`: the timers and the sweep, while holding the scheduler lock."""
    services = build_services(settings)
    queue = Queue(configure(settings))
    redis = Redis.from_url(settings.broker_url)
    session = aiohttp.ClientSession()
    link = PlatformLink(providers.broadcast(settings), session, services.clock)

    async def timers() -> None:
        jobs = scheduler.build(services, queue, queue, link)
        jobs.start()
        try:
            await asyncio.Event().wait()  # until cancelled (Ctrl-C, SIGTERM)
        finally:
            jobs.shutdown(wait=False)

    try:
        await scheduler.single_instance(redis, timers, settings.scheduler_lock_seconds)
    finally:
        await queue.close()
        await redis.aclose()
        await session.close()
        await services.store.close()
