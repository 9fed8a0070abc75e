"""Timed jobs of the embedded mode: APScheduler inside the web process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ewb.services import Services
from store.db import Tx
from store.unit_of_work import run
from warning import commands
from warning.actors import SYSTEM
from warning.events import Event
from warning.model import Warning
from warning.rules import Rules
from web.keys import SERVICES

log = logging.getLogger("ewb.jobs")


async def expire_due(services: Services) -> int:
    """Mark issued versions past their expiry as expired; returns how many warnings changed."""
    now = services.clock()
    async with services.store.read() as tx:
        due = await tx.warnings.ids_with_expired(now)
    for warning_id in due:

        async def work(tx: Tx, rules: Rules, wid: int = warning_id) -> tuple[Warning, list[Event]]:
            loaded = await tx.warnings.get(wid, lock=True)
            events = commands.expire(loaded.warning, now)
            await tx.warnings.save(loaded)
            return loaded.warning, events

        await run(
            services.store, work, now=now, actor=SYSTEM, action="expire", warning_id=warning_id
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
