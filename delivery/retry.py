"""When to try a retryable failure again: exponential backoff with jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before attempt `attempt + 1`: random in [base, min(cap, base·2^(n-1))]
    so that thousands of failed sends do not all come back at the same instant."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return rng.uniform(base, max(base, ceiling))


def retry_at(
    now: datetime,
    created_at: datetime,
    attempt: int,
    *,
    base: float,
    cap: float,
    max_age: float,
    rng: random.Random,
    hint: float | None = None,
) -> datetime | None:
    """The next attempt's time, or None once the retry window (`max_age`) is over.

    `hint` is the provider's own retry-after, which is honoured when longer.
    """
    wait = max(backoff(attempt, base, cap, rng), hint or 0.0)
    when = now + timedelta(seconds=wait)
    if (when - created_at).total_seconds() > max_age:
        return None
    return when
