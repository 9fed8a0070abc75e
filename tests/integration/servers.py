"""Serving apps under test on addresses taken up front (no race for the port)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


def bound_socket() -> socket.socket:
    """A listening address taken now, so no other process can take its port meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def start(app: web.Application, sock: socket.socket) -> web.AppRunner:
    """Serve `app` on `sock`; call `cleanup()` on the runner to stop."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


@asynccontextmanager
async def serve(app: web.Application, sock: socket.socket) -> AsyncIterator[None]:
    runner = await start(app, sock)
    try:
        yield
    finally:
        await runner.cleanup()
