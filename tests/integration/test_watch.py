"""`ewb watch`: the fan-out as a progress bar, until every delivery is final."""

from __future__ import annotations

import asyncio
import json

from sim import twilio
from tests.integration.cli import ewb, start_ewb
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import engine
from tests.integration.flows import draft, issue_new, ok
from tests.integration.test_planner import make_population, store_population


async def test_watch_follows_the_fanout_to_the_end(
    api: Api,
    settings,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    async with engine(settings, clock) as e:
        await store_population(e.services, make_population(count=150))
        e.sims["twilio"][twilio.CALLBACKS].hold()  # states stay as the sends left them
        issued = await issue_new(api, grade="red", areas=["320921"])
        wid = str(issued["id"])
        watching = await start_ewb(e.settings, "watch", wid, "--interval", "0.1")
        await asyncio.sleep(1)  # it is polling a fan-out that has not started
        assert watching.returncode is None
        await e.runner.drain()
        async with asyncio.timeout(60):
            out, err = await watching.communicate()
        assert watching.returncode == 0, err.decode()
        final = await ok(api.get(f"/warnings/{wid}/progress"))
        states = ", ".join(f"{n:,} {s}" for s, n in sorted(final["by_state"].items()))
        assert out.decode().strip() == (
            f"warning {wid} version 1: {final['total']:,} deliveries: {states}"
        )
        bar = err.decode()
        assert f"warning {wid} v1" in bar and "100%" in bar and "unreachable" in bar

        polled = ewb(e.settings, "watch", wid, "--json")
        assert polled.returncode == 0, polled.stderr
        assert json.loads(polled.stdout) == final | {"rate_per_second": 0.0, "eta_seconds": None}


async def test_watch_refuses_what_it_cannot_follow(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    missing = ewb(settings, "watch", "999")
    assert missing.returncode == 1 and "no warning 999" in missing.stderr
    drafted = await draft(api)
    unsent = ewb(settings, "watch", str(drafted["id"]))
    assert unsent.returncode == 1
    assert f"warning {drafted['id']} has not been issued" in unsent.stderr
