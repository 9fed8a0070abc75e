"""A version's fan-out progress as the API and `ewb watch` report it."""

from __future__ import annotations

from store.progress import WINDOW, Progress


def report(warning_id: int, version: int, found: Progress) -> dict[str, object]:
    """Counts per channel and state, the rate over the last half minute, the time left."""
    by_state: dict[str, int] = {}
    for states in found.by_channel.values():
        for state, count in states.items():
            by_state[state] = by_state.get(state, 0) + count
    rate = found.recent / WINDOW.total_seconds()
    return {
        "warning_id": warning_id,
        "version": version,
        "done": found.planned and found.open == 0,
        "planned": found.planned,
        "total": found.total,
        "open": found.open,
        "by_state": by_state,
        "by_channel": found.by_channel,
        "unreachable": by_state.get("unreachable", 0),
        "resent_after_crash": found.resent_after_crash,
        "rate_per_second": round(rate, 1),
        "eta_seconds": round(found.open / rate) if rate and found.open else None,
    }
