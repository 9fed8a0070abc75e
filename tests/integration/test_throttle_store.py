"""The login_throttle repository on each database: rows per username and address."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ewb.services import Services
from store.throttle import Throttle
from tests.integration import throttle
from tests.support import NOW

no_throttle = throttle.no_throttle  # fixture
SECOND = timedelta(seconds=1)


async def test_a_locked_row_is_created_once_then_saved_and_read(services: Services) -> None:
    async with services.store.write() as tx:
        new = await tx.throttle.locked("duty_chief", "127.0.0.1", NOW)
        assert new == Throttle("duty_chief", "127.0.0.1", 0, NOW, None)
        await tx.throttle.save(replace(new, failures=5, blocked_until=NOW + 2 * SECOND))
    async with services.store.write() as tx:
        again = await tx.throttle.locked("duty_chief", "127.0.0.1", NOW + 10 * SECOND)
    assert again == Throttle("duty_chief", "127.0.0.1", 5, NOW, NOW + 2 * SECOND)
    async with services.store.read() as tx:
        assert await tx.throttle.get("duty_chief", "127.0.0.1") == again
        assert await tx.throttle.get("duty_chief", "::1") is None
        assert await tx.throttle.get("leader", "127.0.0.1") is None


async def _put(services: Services, *rows: Throttle) -> None:
    async with services.store.write() as tx:
        for row in rows:
            await tx.throttle.locked(row.username, row.address, row.first_failure_at)
            await tx.throttle.save(row)


async def test_blocked_counts_addresses_and_clear_deletes_a_pair_or_a_user(
    services: Services,
) -> None:
    await _put(
        services,
        Throttle("duty_chief", "10.0.0.1", 5, NOW, NOW + 4 * SECOND),
        Throttle("duty_chief", "10.0.0.2", 6, NOW, NOW + SECOND),
        Throttle("duty_chief", "10.0.0.3", 2, NOW, None),
        Throttle("leader", "10.0.0.1", 5, NOW, NOW),  # its wait ends now
    )
    async with services.store.read() as tx:
        assert await tx.throttle.blocked(NOW) == {"duty_chief": 2}
        assert await tx.throttle.blocked(NOW + 2 * SECOND) == {"duty_chief": 1}
        assert await tx.throttle.blocked(NOW - SECOND) == {"duty_chief": 2, "leader": 1}
    async with services.store.write() as tx:
        assert await tx.throttle.clear("duty_chief", "10.0.0.2") == 1
        assert await tx.throttle.clear("duty_chief", "10.0.0.2") == 0
        assert await tx.throttle.clear("duty_chief") == 2
        assert await tx.throttle.clear("nobody") == 0
    async with services.store.read() as tx:
        assert await tx.throttle.blocked(NOW - SECOND) == {"leader": 1}


async def test_forget_deletes_rows_whose_failures_and_wait_are_past(services: Services) -> None:
    window = timedelta(minutes=15)
    await _put(
        services,
        Throttle("old", "10.0.0.1", 3, NOW - window - SECOND, None),
        Throttle("old-waited", "10.0.0.1", 9, NOW - 2 * window, NOW - window),
        Throttle("recent", "10.0.0.1", 3, NOW - window + SECOND, None),
        Throttle("waited-recently", "10.0.0.1", 9, NOW - 2 * window, NOW - window + SECOND),
        Throttle("waiting", "10.0.0.1", 14, NOW - 2 * window, NOW + window),
    )
    async with services.store.write() as tx:
        assert await tx.throttle.forget(NOW - window) == 2
    left = []
    async with services.store.read() as tx:
        for name in ("old", "old-waited", "recent", "waited-recently", "waiting"):
            if await tx.throttle.get(name, "10.0.0.1") is not None:
                left.append(name)
    assert left == ["recent", "waited-recently", "waiting"]


async def test_keys_longer_than_the_columns_are_cut_not_refused(services: Services) -> None:
    """A sign-in may name any username; the row must not fail on PostgreSQL's String(64)."""
    long_name, long_address = "x" * 300, "y" * 100
    async with services.store.write() as tx:
        row = await tx.throttle.locked(long_name, long_address, NOW)
        await tx.throttle.save(replace(row, failures=1))
    async with services.store.read() as tx:
        found = await tx.throttle.get(long_name, long_address)
    assert found is not None and found.failures == 1
    assert (found.username, found.address) == ("x" * 64, "y" * 64)
    async with services.store.write() as tx:
        assert await tx.throttle.clear(long_name) == 1
