"""A database that cannot be reached for a while: what that raises, and waiting it out.

A PostgreSQL restart or a network cut ends the connections a pool holds; SQLAlchemy
raises DBAPIError (the connection is then dropped from the pool, and the next checkout
makes a new one), a full pool TimeoutError, a refused connect OSError. Work that must not
be lost is tried again, in a new transaction, until `patience` runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("ewb.store.outage")

T = TypeVar("T")
OUTAGE = (DBAPIError, PoolTimeout, OSError)
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 2.0


class StoreUnavailable(Exception):
    """The database could not be reached for as long as the work could wait."""


async def retried(work: Callable[[], Awaitable[T]], patience: float, what: str) -> T:
    """`work()` (one whole transaction), tried again with back-off while the database is
    out, for up to `patience` seconds; then StoreUnavailable."""
    loop = asyncio.get_running_loop()
    deadline, backoff = loop.time() + patience, FIRST_BACKOFF
    while True:
        try:
            return await work()
        except OUTAGE as error:
            if loop.time() + backoff > deadline:
                log.error("%s: the database was out for %.0f s: %s", what, patience, error)
                raise StoreUnavailable(f"{what}: {type(error).__name__}") from error
            log.warning("%s failed (%s); again in %.1f s", what, type(error).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
