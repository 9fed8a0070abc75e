"""Serving apps under test on addresses taken up front (no race for the port)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


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


class PrivateRedis:
    """A redis-server of the test's own on a spare port (no persistence), to stop and
    start again while ewb's processes use it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        sock = bound_socket()
        self.port = sock.getsockname()[1]
        sock.close()  # redis-server binds it itself; nothing else asks for it meanwhile
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self._process = await asyncio.create_subprocess_exec(
            *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):
                with contextlib.suppress(RedisConnectionError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None
