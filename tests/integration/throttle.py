"""Fixtures for the sign-in throttle: a client from a second address, and no leftover rows.

The test server listens on 127.0.0.1; Linux routes all of 127.0.0.0/8 to loopback, so a
client whose sockets are bound to 127.0.0.2 reaches the same server from another address
(`request.remote` is "127.0.0.2"), as a second office's browser would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete

from ewb.services import Services
from store import tables
from tests.integration.conftest import Api

HERE = "127.0.0.1"  # where the `api` fixture's client connects from
OTHER = "127.0.0.2"


async def _clear(services: Services) -> None:
    async with services.store.write() as tx:
        await tx.conn.execute(delete(tables.login_throttle))


@pytest.fixture(autouse=True)
async def no_throttle(services: Services) -> AsyncIterator[None]:
    """Each test starts and leaves with no failed sign-ins counted (the clock is the same
    in every test, so a wait left behind would refuse the next test's sign-in)."""
    await _clear(services)
    yield
    await _clear(services)


@pytest.fixture
async def elsewhere(api: Api, aiohttp_client: Any) -> Api:
    """The API of the same server, from 127.0.0.2."""
    connector = aiohttp.TCPConnector(local_addr=(OTHER, 0))
    return Api(await aiohttp_client(api.client.server, connector=connector))
