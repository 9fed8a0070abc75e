"""SQLite's writers queue in the process, urgent ones first, one at a time."""

from __future__ import annotations

import asyncio

from store.writers import WriterQueue, urgent


async def test_urgent_writers_go_ahead_of_those_already_waiting() -> None:
    queue, order = WriterQueue(), []
    holding = asyncio.Event()

    async def write(name: str, hold: asyncio.Event | None = None) -> None:
        async with queue:
            order.append(name)
            if hold is not None:
                holding.set()
                await hold.wait()

    release = asyncio.Event()
    first = asyncio.create_task(write("under way", release))
    await holding.wait()
    waiting = [asyncio.create_task(write(f"resident {n}")) for n in range(3)]
    await asyncio.sleep(0)
    with urgent():
        planning = asyncio.create_task(write("planning"))  # the task keeps the mark
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, planning, *waiting)
    assert order == ["under way", "planning", "resident 0", "resident 1", "resident 2"]


async def test_a_cancelled_waiter_never_keeps_the_lock() -> None:
    queue = WriterQueue()
    await queue.acquire()
    gone = asyncio.create_task(queue.acquire())
    await asyncio.sleep(0)
    gone.cancel()  # cancelled while waiting: it leaves the queue
    await asyncio.gather(gone, return_exceptions=True)
    handed = asyncio.create_task(queue.acquire())
    await asyncio.sleep(0)
    queue.release()  # handed to this one...
    handed.cancel()  # ...cancelled before it could run: it passes the lock on
    await asyncio.gather(handed, return_exceptions=True)
    await asyncio.wait_for(queue.acquire(), 1)  # free again
    queue.release()
