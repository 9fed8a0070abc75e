"""Running the three simulators together: `ewb sim`, and the sandbox tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from aiohttp import web

from config.settings import Settings
from sim import broadcast, twilio, wechat


def ports(settings: Settings) -> dict[str, int]:
    return {
        "twilio": settings.sim_twilio_port,
        "wechat": settings.sim_wechat_port,
        "broadcast": settings.sim_broadcast_port,
    }


@asynccontextmanager
async def simulators(
    settings: Settings,
    *,
    terminals: Sequence[broadcast.Terminal] | None = None,
    sockets: Mapping[str, socket.socket] | None = None,
) -> AsyncIterator[dict[str, web.Application]]:
    """The Twilio, WeChat/WeCom and broadcast simulators serving until the block ends.

    They listen on the ports in `settings`, or on the given already-bound `sockets`.
    The broadcast platform knows the sample terminals unless `terminals` is given.
    """
    apps = {
        "twilio": twilio.create_app(settings),
        "wechat": wechat.create_app(settings),
        "broadcast": broadcast.create_app(
            settings, broadcast.load_terminals() if terminals is None else terminals
        ),
    }
    runners = []
    try:
        for name, app in apps.items():
            runner = web.AppRunner(app)
            await runner.setup()
            runners.append(runner)
            if sockets and name in sockets:
                site: web.BaseSite = web.SockSite(runner, sockets[name])
            else:
                site = web.TCPSite(runner, settings.sim_host, ports(settings)[name])
            await site.start()
        yield apps
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def serve_forever(settings: Settings) -> None:
    """`ewb sim`: serve until interrupted."""
    async with simulators(settings):
        for name, port in ports(settings).items():
            print(f"{name} simulator on http://{settings.sim_host}:{port}")
        print(f"callbacks go to {settings.public_base_url}")
        await asyncio.Event().wait()
