"""Batches queue on Redis priority steps in the engine's order."""

from __future__ import annotations

from delivery.celery_app import queue_priority


def test_queue_priorities_put_red_relays_first() -> None:
    red_relays, red, orange_relays, blue = (
        queue_priority(41),
        queue_priority(40),
        queue_priority(31),
        queue_priority(10),
    )
    assert 0 < red_relays < red < orange_relays < blue <= 9
