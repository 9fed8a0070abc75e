"""The embedded engine under test: ewb (for callbacks), the three simulators, a runner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from config.settings import Settings, load_settings
from delivery.adapters import Adapters, build_adapters
from delivery.ratelimit import RateLimiter
from delivery.runner import Runner
from ewb.bootstrap import build_services, make_app
from ewb.heap import freeze_startup_heap
from ewb.services import Services
from sim import broadcast, twilio
from sim.run import simulators
from store import tables
from store.deliveries import Delivery
from tests.integration.conftest import FakeClock
from tests.integration.servers import bound_socket, serve


@dataclass
class Engine:
    settings: Settings
    services: Services
    adapters: Adapters
    runner: Runner
    sims: dict[str, web.Application]
    clock: FakeClock

    async def deliveries(self, warning_id: int, version: int | None = None) -> list[Delivery]:
        return await deliveries_of(self.services, warning_id, version)

    async def callbacks_in(self) -> None:
        """Until the Twilio simulator has posted every status callback it owes, and ewb has
        applied every one it stored (its receipts loop runs just after the answer)."""
        await twilio.settled(self.sims["twilio"])
        await callbacks_applied(self.services)


async def callbacks_applied(services: Services) -> None:
    """Until no stored status callback waits to be applied (a 200 means stored; the
    receipts loop in the app applies it just after: delivery/receipts.py)."""
    async with asyncio.timeout(60):  # guards against a hang only
        while True:
            async with services.store.read() as tx:
                if await tx.callbacks.waiting() == 0:
                    return
            await asyncio.sleep(0.02)


async def deliveries_of(
    services: Services, warning_id: int, version: int | None = None
) -> list[Delivery]:
    """A warning's deliveries (of one version), in id order."""
    query = select(tables.deliveries).where(tables.deliveries.c.warning_id == warning_id)
    if version is not None:
        query = query.where(tables.deliveries.c.version == version)
    async with services.store.read() as tx:
        ids = [r.id for r in await tx.conn.execute(query.order_by(tables.deliveries.c.id))]
        return await tx.deliveries.many(ids) if ids else []


@asynccontextmanager
async def engine(
    settings: Settings,
    clock: FakeClock,
    *,
    terminals: Sequence[broadcast.Terminal] = (),
    paced: Sequence[str] = (),
    **overrides: Any,
) -> AsyncIterator[Engine]:
    """ewb serving webhooks, the simulators (the broadcast one with these `terminals`, none
    by default), and a runner on the test's database; `paced`: these channels go at their
    provider's declared rate, as `ewb serve` sends them (none by default)."""
    app_sock = bound_socket()
    socks = {name: bound_socket() for name in ("twilio", "wechat", "broadcast")}
    wired = load_settings(
        **{
            "database_url": settings.database_url,
            "var_dir": settings.var_dir,
            "public_base_url": f"http://127.0.0.1:{app_sock.getsockname()[1]}",
            "sim_twilio_port": socks["twilio"].getsockname()[1],
            "sim_wechat_port": socks["wechat"].getsockname()[1],
            "sim_broadcast_port": socks["broadcast"].getsockname()[1],
            "webhook_grace_seconds": 1,
            "batch_size": 25,
            "claim_chunk": 10,
            "retry_base_seconds": 5,
            "retry_max_seconds": 60,
            "retry_max_age_seconds": 600,
            **overrides,
        }
    )
    services = build_services(wired, clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(make_app(wired, clock, scheduler=False), app_sock))
        sims = await stack.enter_async_context(
            simulators(wired, terminals=list(terminals), sockets=socks)
        )
        adapters = build_adapters(wired, clock)
        rates = {c: r for c, r in adapters.rates(wired).items() if c in paced}
        runner = Runner(services, adapters, RateLimiter(rates))
        freeze_startup_heap()  # as `ewb serve` does once started
        try:
            yield Engine(wired, services, adapters, runner, sims, clock)
        finally:
            await runner.close()
            await adapters.close()
            await services.store.close()
