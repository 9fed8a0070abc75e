"""The distributed mode: real `ewb worker` processes (Celery on Redis) and `ewb scheduler`,
on PostgreSQL, against the simulators."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select, text

from sim import twilio
from store import tables
from subscribers.segmentation import spec_for
from tests.integration.cli import ewb
from tests.integration.cluster import REDIS_URL, Cluster, cluster, real_time_body
from tests.integration.engine import deliveries_of
from tests.integration.flows import APPROVERS, ok, release
from tests.integration.servers import PrivateRedis
from tests.integration.test_fanout import COUNTY, add_relays, unsettled
from tests.integration.test_planner import expected_plan, make_population, store_population
from tests.support import draft_body


async def issue(c: Cluster, **overrides: object) -> dict[str, object]:
    body = draft_body(**real_time_body(areas=COUNTY) | overrides)
    created = await ok(c.api.post("/warnings", "forecaster", body), 201)
    return await release(c.api, created["id"], APPROVERS[str(created["grade"])])  # type: ignore[arg-type]


def accepted(c: Cluster) -> list[twilio.Received]:
    return [m for m in c.sims["twilio"][twilio.SENT] if m.answer == 201]


async def test_a_county_fanout_on_two_workers_reaches_everyone_once(settings) -> None:  # type: ignore[no-untyped-def]
    async with cluster(settings) as c:
        people = make_population(count=300)
        ids = await store_population(c.services, people)
        await add_relays(c.services)
        await c.start("worker", "w1")
        await c.start("worker", "w2")
        await c.start("scheduler", "s1")
        issued = await issue(c)
        wid = int(issued["id"])  # type: ignore[call-overload]
        await c.until_done(wid)

        found = await deliveries_of(c.services, wid)
        assert unsettled(found) == []
        async with c.services.store.read() as tx:
            version = (await tx.warnings.get(wid)).warning.latest
            tree = await tx.areas.tree()
        planned = expected_plan(people, spec_for(version, c.services.catalog), tree)
        first = {}
        for d in found:
            if d.recipient_kind == "resident":
                first.setdefault(d.recipient_id, d)
        assert set(first) == {str(ids[x]) for x in planned}
        assert all(first[str(ids[x])].channel == (ch or "none") for x, ch in planned.items())
        phones = Counter(m.to for m in accepted(c))
        assert max(phones.values()) == 1  # nobody got the same SMS twice
        assert {d.address for d in found if d.channel == "sms" and d.state != "failed"} <= set(
            phones
        )
        assert Counter(d.recipient_kind for d in found if d.recipient_kind != "resident") == {
            "officer": 2,
            "terminal": 3,
        }
        logs = c.log("w1") + c.log("w2")
        assert "ewb.send_batch" in c.log("w1") and "ewb.send_batch" in c.log("w2")  # both worked
        assert "13912340001" not in logs  # numbers never whole in the logs


async def test_red_batches_go_before_blue_on_a_worker(settings) -> None:  # type: ignore[no-untyped-def]
    async with cluster(settings) as c:
        await store_population(c.services, make_population(count=150))
        blue = await issue(c, grade="blue", hazard="rainstorm")
        red = await issue(c, grade="red")
        await c.start("worker", "w1")  # both are waiting: the worker plans them together
        for wid in (int(blue["id"]), int(red["id"])):  # type: ignore[call-overload]
            await c.until_done(wid)
        kinds = ["red" if "台风红色" in m.body else "blue" for m in accepted(c)]
        assert kinds.count("red") and kinds.count("blue")
        assert kinds.index("blue") > len(kinds) - 1 - kinds[::-1].index("red")


async def test_a_worker_killed_mid_fanout_loses_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    async with cluster(settings, sim_latency_ms=30) as c:
        c.sims["twilio"][twilio.FAULTS].latency_ms = 30
        people = make_population(count=600)
        await store_population(c.services, people)
        await c.start("worker", "w1")
        await c.start("scheduler", "s1")
        issued = await issue(c)
        wid = int(issued["id"])  # type: ignore[call-overload]
        faults = c.sims["twilio"][twilio.FAULTS]
        for _ in range(300):  # until the fan-out is well under way
            if len(accepted(c)) >= 100:
                break
            await asyncio.sleep(0.05)
        faults.latency_ms = 1500  # the next sends stay in flight …
        for _ in range(100):
            if await count_sending(c, wid):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # … and have reached the simulator
        await c.kill("w1")  # the simulator still takes them: the provider got them
        in_flight = await count_sending(c, wid)  # what the dead worker left claimed
        assert in_flight > 0
        faults.latency_ms = 30
        assert 0 < len(accepted(c)) < 500  # killed in the middle
        await c.start("worker", "w2")
        done = await c.until_done(wid)

        found = await deliveries_of(c.services, wid)
        expected = {d.address for d in found if d.channel == "sms"}
        phones = Counter(m.to for m in accepted(c))
        refused = {m.to for m in c.sims["twilio"][twilio.SENT] if m.answer != 201}
        assert expected - refused == set(phones)  # nothing lost
        repeats = sum(n - 1 for n in phones.values())
        most = c.settings.claim_chunk * c.settings.chunks_in_flight  # the send concurrency
        assert 0 < repeats <= in_flight <= most  # only what was in flight
        flagged = [d for d in found if d.resent_after_crash]
        assert len(flagged) == in_flight == done["resent_after_crash"]


async def count_sending(c: Cluster, warning_id: int) -> int:
    async with c.services.store.read() as tx:
        found = await tx.conn.execute(
            select(func.count())
            .select_from(tables.deliveries)
            .where(
                tables.deliveries.c.warning_id == warning_id,
                tables.deliveries.c.state == "sending",
            )
        )
        return int(found.scalar_one())


async def test_a_provider_outage_is_retried_by_the_workers(settings) -> None:  # type: ignore[no-untyped-def]
    async with cluster(settings) as c:
        await store_population(c.services, make_population(count=80))
        c.sims["twilio"][twilio.FAULTS].rate_500 = 1.0
        await c.start("worker", "w1")
        await c.start("scheduler", "s1")
        issued = await issue(c)
        wid = int(issued["id"])  # type: ignore[call-overload]
        for _ in range(200):
            sms = [d for d in await deliveries_of(c.services, wid) if d.channel == "sms"]
            if sms and all(d.attempts >= 1 for d in sms):
                break
            await asyncio.sleep(0.1)
        c.sims["twilio"][twilio.FAULTS].rate_500 = 0.0
        await c.until_done(wid)
        sms = [d for d in await deliveries_of(c.services, wid) if d.channel == "sms"]
        assert all(d.attempts >= 2 for d in sms)  # refused during the outage, retried
        assert {d.state for d in sms} <= {"sent", "delivered", "failed"}
        assert any(d.state in ("sent", "delivered") for d in sms)


async def test_one_scheduler_runs_and_a_second_takes_over_when_it_dies(settings) -> None:  # type: ignore[no-untyped-def]
    async with cluster(settings) as c:
        await c.start("scheduler", "s1")
        for _ in range(100):
            if "scheduler lock taken" in c.log("s1"):
                break
            await asyncio.sleep(0.1)
        await c.start("scheduler", "s2")
        for _ in range(100):
            if "waiting to take over" in c.log("s2"):
                break
            await asyncio.sleep(0.1)
        assert "scheduler lock taken" not in c.log("s2")
        await c.kill("s1")
        for _ in range(100):  # the lock lapses after scheduler_lock_seconds (3 s here)
            if "scheduler lock taken" in c.log("s2"):
                break
            await asyncio.sleep(0.1)
        assert "scheduler lock taken" in c.log("s2")


async def test_worker_and_scheduler_refuse_to_run_without_their_parts(settings) -> None:  # type: ignore[no-untyped-def]
    no_broker = ewb(settings, "worker")
    assert no_broker.returncode == 1 and "EWB_BROKER_URL" in no_broker.stderr
    on_sqlite = ewb(settings, "scheduler", database=False, broker=REDIS_URL)
    assert on_sqlite.returncode == 1 and "needs PostgreSQL" in on_sqlite.stderr


async def test_the_scheduler_survives_a_redis_restart(settings) -> None:  # type: ignore[no-untyped-def]
    """Redis down longer than the scheduler's lock (3 s here), then back empty: the
    scheduler keeps running, and takes its lock again."""
    redis = PrivateRedis(settings.var_dir)
    await redis.start()
    try:
        async with cluster(settings, broker_url=redis.url) as c:
            scheduler = await c.start("scheduler", "s1")
            await _logged(c, "s1", "scheduler lock taken")
            await redis.stop()
            await _logged(c, "s1", "Redis unreachable")
            await asyncio.sleep(5)  # the lock would have lapsed by now
            await redis.start()
            await _logged(c, "s1", "Redis reachable again: scheduler lock taken again", 20)
            assert scheduler.returncode is None, c.log("s1")[-3000:]
            assert "Traceback" not in c.log("s1"), c.log("s1")[-3000:]
    finally:
        await redis.stop()


async def _logged(c: Cluster, name: str, text: str, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.1)):
        if text in c.log(name):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never logged {text!r}:\n{c.log(name)[-3000:]}")


async def test_lost_database_connections_mid_fanout_lose_nothing_and_repeat_little(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """PostgreSQL ends every connection of ewb's processes again and again mid-fan-out
    (as a restart does): the workers, the scheduler and the server carry on, nobody is
    left out, and no more is sent twice than can be in flight (results are stored again
    on a new connection, not lost with the old one)."""
    async with cluster(settings, sim_latency_ms=20) as c:
        c.sims["twilio"][twilio.FAULTS].latency_ms = 20
        await store_population(c.services, make_population(count=800))
        await c.start("worker", "w1")
        await c.start("worker", "w2")
        await c.start("scheduler", "s1")
        issued = await issue(c)
        wid = int(issued["id"])  # type: ignore[call-overload]
        for _ in range(300):  # until the fan-out is under way
            if len(accepted(c)) >= 50:
                break
            await asyncio.sleep(0.05)
        ended = 0
        for _ in range(8):  # connections ended again and again, for about 4 s
            ended += await _end_connections(c)
            await asyncio.sleep(0.5)
        assert ended > 0 and len(accepted(c)) < 700  # ended in the middle of it
        await c.until_done(wid, seconds=180)

        found = await deliveries_of(c.services, wid)
        assert unsettled(found) == []
        expected = {d.address for d in found if d.channel == "sms"}
        phones = Counter(m.to for m in accepted(c))
        refused = {m.to for m in c.sims["twilio"][twilio.SENT] if m.answer != 201}
        assert expected - refused == set(phones)  # nothing lost
        repeats = sum(n - 1 for n in phones.values())
        most = c.settings.claim_chunk * c.settings.chunks_in_flight * 2  # two workers
        assert repeats <= most, repeats
        for name in ("w1", "w2", "s1"):
            assert c.processes[name].returncode is None, c.log(name)[-3000:]


async def _end_connections(c: Cluster) -> int:
    """pg_terminate_backend for every connection to the test's database but this one."""
    database = c.services.store.engine.url.database
    async with c.services.store.read() as tx:
        found = await tx.conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        )
        return int(found.scalar_one())
