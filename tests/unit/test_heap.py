"""The start-up heap is exempt from later full collections; what comes later is not."""

from __future__ import annotations

import gc

from ewb.heap import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_what_start_up_made_is_never_walked_again_and_later_garbage_still_is() -> None:
    before = _Node()
    try:
        frozen = freeze_startup_heap()
        after = _Node()
        assert frozen == gc.get_freeze_count() > 0
        assert not _tracked(before)  # in the permanent generation: full collections skip it
        assert _tracked(after)
        del after
        assert gc.collect() >= 1  # a cycle made after start-up is still collected
    finally:
        gc.unfreeze()
