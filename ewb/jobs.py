"""Timed jobs of the embedded mode: APScheduler inside the web process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from delivery.adapters import Adapters, build_adapters
from delivery.ratelimit import RateLimiter
from delivery.runner import Runner
from ewb.services import Services
from store import unit_of_work
from warning import commands
from warning.actors import SYSTEM
from web.keys import RUNNER, SERVICES

log = logging.getLogger("ewb.jobs")


async def expire_due(services: Services) -> int:
    """Mark issued versions past their expiry as expired; returns how many warnings changed."""
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.warnings.ids_with_expired(now)
    for warning_id in due:
        await unit_of_work.change(
            services.store,
            warning_id,
            lambda warning, _actor, _rules, now: commands.expire(warning, now),
            now=now,
            actor=SYSTEM,
            action="expire",
        )
    if due:
        log.info("expired %d warning(s): %s", len(due), due)
    return len(due)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the expiry check every `expiry_check_seconds` while the app is up."""
    services = app[SERVICES]
    scheduler = AsyncIOScheduler(timezone=services.settings.timezone)
    scheduler.add_job(
        expire_due,
        "interval",
        args=[services],
        seconds=services.settings.expiry_check_seconds,
        id="expire",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)


def channel_rates(services: Services, adapters: Adapters) -> dict[str, float]:
    """Messages per second per channel: the settings, else what each adapter declares."""
    declared = {name: a.messages_per_second for name, a in adapters.by_channel.items()}
    return {**declared, **services.settings.rate_limits}


async def runner_ctx(app: web.Application) -> AsyncIterator[None]:
    """The embedded delivery runner, running while the app is up."""
    services = app[SERVICES]
    adapters = build_adapters(services.settings, services.clock)
    runner = Runner(services, adapters, RateLimiter(channel_rates(services, adapters)))
    app[RUNNER] = runner
    task = asyncio.create_task(runner.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await runner.close()
    await adapters.close()
