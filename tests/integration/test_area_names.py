"""What is approved is what goes out: a renamed area is named so in the next warning's
messages at once, whichever process renamed it (counted at the SMS simulator)."""

from __future__ import annotations

from ewb.bootstrap import build_services
from sim import twilio
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import issue_new
from tests.integration.test_planner import make_population, store_population
from warning.areas import Area

TOWNSHIP, OLD, NEW = "320921101", "陈家港镇", "陈港新镇"


def _bodies(sms: object, since: int) -> list[str]:
    return [m.body for m in sms[twilio.SENT][since:] if m.answer == 201]  # type: ignore[index]


async def test_a_renamed_area_is_named_so_in_the_next_warning(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=40))
        sms = e.sims["twilio"]
        await issue_new(api, grade="red", areas=[TOWNSHIP])
        await e.runner.drain()
        first = _bodies(sms, 0)
        assert first and all(OLD in body for body in first)

        # Another process (`ewb areas load`) renames the township.
        other = build_services(e.settings, clock)
        try:
            async with other.store.read() as tx:
                before = await tx.areas.revision()
            async with other.store.write() as tx:
                await tx.areas.upsert([Area(TOWNSHIP, NEW, "320921", "township")])
            async with other.store.read() as tx:
                assert await tx.areas.revision() == before + 1
        finally:
            await other.store.close()

        seen = len(sms[twilio.SENT])
        await issue_new(api, grade="red", hazard="rainstorm", areas=[TOWNSHIP])
        await e.runner.drain()
        second = _bodies(sms, seen)
        assert second, "the second warning sent nothing"
        assert all(NEW in body and OLD not in body for body in second), second[:3]


async def test_the_area_revision_moves_on_with_every_change_and_only_then(
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    services = build_services(settings, clock)
    try:
        async with services.store.read() as tx:
            start = await tx.areas.revision()
            await tx.cached_rules()
        async with services.store.read() as tx:
            assert await tx.areas.revision() == start  # reading never moves it
        async with services.store.write() as tx:
            await tx.areas.upsert([Area(TOWNSHIP, NEW, "320921", "township")])
            assert (await tx.cached_rules()).areas.name(TOWNSHIP) == NEW  # its own change
            await tx.areas.upsert([Area(TOWNSHIP, OLD, "320921", "township")])
        async with services.store.read() as tx:
            assert await tx.areas.revision() == start + 1  # one transaction, one revision
            assert (await tx.cached_rules()).areas.name(TOWNSHIP) == OLD
    finally:
        await services.store.close()
