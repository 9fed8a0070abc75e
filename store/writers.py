"""SQLite's one writer at a time, queued in this process, urgent work first.

SQLite lets one transaction write at a time. Queueing this process's writers here avoids
SQLite's busy-wait back-off (sleeps of up to 100 ms). During a county fan-out dozens of
writers wait (every chunk's claim and results, every provider callback), so a plain queue
made a red warning's planning wait up to 2 s for its turn. Writers marked urgent (the
planning of an issued version, the loudspeaker and officer batches: `urgent()`) go ahead
of every other writer waiting; the transaction under way always finishes first.

Every `Store` of the process on the same database file shares one queue (`queue_for`): with
a queue each, two stores' writers met in SQLite's own busy wait, and the web app's status
callbacks made a red warning's planning wait 2 s there, behind its back.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

_URGENT: contextvars.ContextVar[bool] = contextvars.ContextVar("ewb_urgent_writes", default=False)


@contextmanager
def urgent(on: bool = True) -> Iterator[None]:
    """Mark the writes made in this block (and in the tasks it starts) urgent."""
    token = _URGENT.set(on)
    try:
        yield
    finally:
        _URGENT.reset(token)


# Per event loop (a queue's futures belong to one loop), per database file.
_QUEUES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriterQueue]] = (
    weakref.WeakKeyDictionary()
)


def queue_for(database: str) -> WriterQueue:
    """The running loop's writer queue for one SQLite database (its file's resolved path)."""
    queues = _QUEUES.setdefault(asyncio.get_running_loop(), {})
    queue = queues.get(database)
    if queue is None:  # (every write asks: no new queue made just to be thrown away)
        queue = queues[database] = WriterQueue()
    return queue


class WriterQueue:
    """A lock with two queues: urgent waiters are handed it before the others."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )

    async def acquire(self) -> None:
        urgent_, normal = self._waiting
        if not self._held and not urgent_ and not normal:
            self._held = True
            return
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (urgent_ if _URGENT.get() else normal).append(handed)
        try:
            await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            else:
                for queue in self._waiting:
                    if handed in queue:
                        queue.remove(handed)
            raise

    def release(self) -> None:
        for queue in self._waiting:
            while queue:
                handed = queue.popleft()
                if not handed.done():
                    handed.set_result(None)  # still held: it passes to this waiter
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()
