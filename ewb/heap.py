"""Keeping the garbage collector's pauses short in the long-running processes.

CPython's full collection walks every tracked object. A server's heap is mostly what its
start-up made (modules, SQLAlchemy's and aiohttp's tables, mimetypes' map) and never frees;
walked every few seconds during a county fan-out, it paused the event loop for 0.15–0.6 s
each time (more in a larger process), and an urgent warning's package waited behind it.
Once started, a process moves what it holds into the collector's permanent generation
(`gc.freeze`): those objects are never walked again; what is made later is collected as
before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("ewb.heap")


def freeze_startup_heap() -> int:
    """Collect what start-up left over, then exempt the rest from later full collections;
    how many objects are now exempt."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("start-up heap frozen: %d objects exempt from full collections", frozen)
    return frozen
