"""The platform's own packages to ewb, posted as the platform posts them: state reports
decide playback, terminal states set the terminals' status, bad packages are refused with
the platform's ResultCodes and audited, and nothing of them is applied."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from channels import ebd_read, ebd_sign, ebd_state
from channels.broadcast_link import PlatformLink
from channels.ebd_state import ResourceState
from config import providers
from delivery.platform import MISSED_ALERT, heartbeat, poll_states
from sim.broadcast import ACK_GATE, ACKS, PACKAGES, REPORTS, Report
from store import tables
from subscribers.terminals import Terminal
from tests.integration.conftest import Api, FakeClock
from tests.integration.console import sign_in
from tests.integration.engine import Engine, engine
from tests.integration.flows import issue_new, ok
from tests.integration.servers import bound_socket
from tests.integration.test_fanout import add_relays

TOWN = "320921100"
T1, T4 = "33209211000010314010000", "33209211000000314010000"  # village and town terminals
PLATFORM_PRIVATE, PLATFORM_PUBLIC = ebd_sign.keygen()
EWB_PRIVATE, EWB_PUBLIC = ebd_sign.keygen()
PLATFORM_EBRID = "43209210000000103010101"
EWB_EBRID = "43209210000000102010101"
KEYS = {  # both sides sign: ewb (checked by the simulator) and the platform (the simulator)
    "broadcast_platform_public_key": PLATFORM_PUBLIC,
    "broadcast_private_key": EWB_PRIVATE,
    "broadcast_public_key": EWB_PUBLIC,
    "sim_broadcast_private_key": PLATFORM_PRIVATE,
}


async def _issued(api: Api, e: Engine) -> tuple[int, str]:
    """A red warning for the town played by T1 (village) and T4 (town); its EBMID."""
    await add_relays(e.services)
    async with e.services.store.write() as tx:
        await tx.terminals.upsert([Terminal("T4", "响水镇大喇叭", TOWN, T4, None, "online")])
    red = await issue_new(api, grade="red", areas=[TOWN])
    await e.runner.drain()
    # The first package (a failure reported at once may have it played again already).
    package = e.sims["broadcast"][PACKAGES][0]
    assert package.package is not None and package.package.ebm is not None
    return red["id"], package.package.ebm.ebm_id


def _state(ebm_id: str, code: int, signer: Any, **extra: Any) -> bytes:
    return ebd_state.build_state_response(
        ebm_id=ebm_id,
        code=code,
        source_ebrid=PLATFORM_EBRID,
        dest_ebrid=EWB_EBRID,
        sequence=11,
        created=extra.pop("created"),
        signer=signer,
        **extra,
    )[1]


async def _post(e: Engine, tar: bytes, *, bare: bool = False) -> ebd_read.Ebd:
    """Post as the platform does; the EBDResponse it got back (checked signed by ewb)."""
    url = f"{e.settings.public_base_url}/webhooks/broadcast/ebd"
    async with aiohttp.ClientSession() as session:
        if bare:
            reply = await session.post(url, data=tar)
        else:
            form = aiohttp.FormData()
            form.add_field("file", tar, filename="EBDT_x.tar", content_type="application/x-tar")
            reply = await session.post(url, data=form)
        assert reply.status == 200 and reply.content_type == "application/x-tar"
        answer = ebd_read.parse_ebd(await reply.read())
    ebd_sign.verify(answer.signature, answer.ebdb, EWB_PUBLIC)
    assert answer.response is not None
    return answer


async def _events(e: Engine, warning_id: int) -> dict[str, list[tuple[str, str | None]]]:
    """terminal endpoint → its first play's (event, provider code) after `sent`."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    async with e.services.store.read() as tx:
        for d in await e.deliveries(warning_id):
            if d.channel == "broadcast" and d.repeat == 0:  # the first play
                events = await tx.deliveries.events(d.id)
                found[d.address] = [
                    (x.event, x.provider_code) for x in events if x.event not in ("queued", "sent")
                ]
    return found


async def _refusals(e: Engine) -> list[dict[str, Any]]:
    async with e.services.store.read() as tx:
        rows = await tx.conn.execute(
            select(tables.audit_log).where(tables.audit_log.c.action == "broadcast.refused")
        )
        return [dict(r._mapping) for r in rows]


async def test_a_state_report_decides_playback_terminal_by_terminal(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, **KEYS) as e:
        wid, ebm_id = await _issued(api, e)
        signer = ebd_sign.Signer(PLATFORM_PRIVATE)
        report = _state(
            ebm_id,
            ebd_state.FAILED,
            signer,
            created=clock.now + timedelta(seconds=30),
            coverage_rate=0.5,
            coverage_areas=["320921100000"],
            resources=[ResourceState(T1, ebd_state.PLAYED), ResourceState(T4, None)],
        )
        answer = await _post(e, report)
        assert answer.response.result_code == 1  # type: ignore[union-attr]
        events = await _events(e, wid)
        assert events[T1] == [("played", "ebm-state-3")]
        assert events[T4] == [("failed", "playback-failed")]  # the EBM's state holds for it
        await _post(e, report)  # the same report again changes nothing
        assert await _events(e, wid) == events
        async with e.services.store.read() as tx:
            (first, again) = await tx.platform.states(ebm_id)
        assert (first.code, first.coverage_rate, first.coverage_areas) == (
            4,
            0.5,
            ("320921100000",),
        )
        assert again.code == 4
        coverage = await ok(api.get(f"/warnings/{wid}/coverage"))
        assert coverage["county"]["terminals_played"] == 1  # T1's village has its credit


async def test_a_town_level_loudspeaker_covers_its_villages(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, **KEYS) as e:
        wid, ebm_id = await _issued(api, e)
        async with e.services.store.write() as tx:  # T4 is heard by 1,300 people
            await tx.terminals.upsert([Terminal("T4", "响水镇大喇叭", TOWN, T4, 1300, "online")])
        before = await ok(api.get(f"/warnings/{wid}/coverage"))
        played = [ResourceState(T1, ebd_state.FAILED), ResourceState(T4, ebd_state.PLAYED)]
        signer = ebd_sign.Signer(PLATFORM_PRIVATE)
        report = _state(ebm_id, ebd_state.PLAYED, signer, created=clock.now, resources=played)
        assert (await _post(e, report)).response.result_code == 1  # type: ignore[union-attr]
        coverage = await ok(api.get(f"/warnings/{wid}/coverage"))
        # Its 1,300 are spread over the town's villages by population, none left out.
        villages = [a for a in coverage["areas"] if a["town"] == TOWN]
        gained = {
            a["code"]: a["broadcast_population"] - b["broadcast_population"]
            for a, b in zip(villages, before["areas"], strict=True)
        }
        assert sum(gained.values()) == 1300
        population = sum(a["population"] for a in villages)
        for a in villages:
            assert abs(gained[a["code"]] - 1300 * a["population"] / population) <= len(villages)
        town = next(t for t in coverage["towns"] if t["code"] == TOWN)
        assert town["broadcast_population"] == 1300
        assert coverage["county"]["estimated"] > before["county"]["estimated"]
        assert (
            coverage["timeline"] and coverage["timeline"][-1][1] == coverage["county"]["estimated"]
        )


async def test_unsigned_or_malformed_packages_are_refused_and_audited(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, **KEYS) as e:
        wid, ebm_id = await _issued(api, e)
        unsigned = _state(ebm_id, ebd_state.PLAYED, None, created=clock.now)
        stranger = _state(ebm_id, ebd_state.PLAYED, ebd_sign.Signer(EWB_PRIVATE), created=clock.now)
        answers = [
            await _post(e, unsigned),
            await _post(e, stranger),
            await _post(e, b"not a tar at all", bare=True),
            await _post(e, b"--x\r\nbroken", bare=False),
        ]
        assert [a.response.result_code for a in answers] == [4, 4, 2, 2]  # type: ignore[union-attr]
        assert all(not moves for moves in (await _events(e, wid)).values())  # nothing applied
        async with e.services.store.read() as tx:
            assert await tx.platform.states(ebm_id) == []
        refusals = await _refusals(e)
        assert [r["details"]["result_code"] for r in refusals] == [4, 4, 2, 2]
        assert all(r["actor"] == "platform" and r["outcome"] == "refused" for r in refusals)


async def test_terminal_states_set_online_and_offline(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, gap_check_minutes=10, **KEYS) as e:
        wid, _ = await _issued(api, e)
        _, tar = ebd_state.build_device_states(
            states=[(T1, ebd_state.FAULT), (T4, ebd_state.RUNNING), ("3" * 23, ebd_state.OFF)],
            source_ebrid=PLATFORM_EBRID,
            dest_ebrid=EWB_EBRID,
            sequence=12,
            created=clock.now,
            signer=ebd_sign.Signer(PLATFORM_PRIVATE),
        )
        assert (await _post(e, tar)).response.result_code == 1  # type: ignore[union-attr]
        async with e.services.store.read() as tx:
            rows = await tx.conn.execute(select(tables.terminals.c.id, tables.terminals.c.status))
            status = dict(rows.all())
        assert (status["T1"], status["T4"]) == ("offline", "online")
        # T1 went down before it played: its play fails now, and its village (nobody
        # reached there) gets the gap actions at once, not after gap_check_minutes.
        assert await _events(e, wid) == {T1: [("failed", "terminal-offline")], T4: []}
        later = await e.deliveries(wid)
        assert [d.recipient_id for d in later if d.recipient_kind == "gap"] == ["officer_b"]
        assert [d for d in later if d.repeat > 0] == []  # an offline loudspeaker is not replayed
        # A second report of the same fault changes nothing more.
        assert (await _post(e, tar)).response.result_code == 1  # type: ignore[union-attr]
        assert await _events(e, wid) == {T1: [("failed", "terminal-offline")], T4: []}
        assert len(await e.deliveries(wid)) == len(later)


async def test_an_unsigned_heartbeat_is_answered_though_the_platform_key_is_set(
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, **KEYS) as e:
        _, tar = ebd_state.build_connection_check(
            source_ebrid=PLATFORM_EBRID, dest_ebrid=EWB_EBRID, created=clock.now
        )
        answer = await _post(e, tar)
        assert answer.response.result_code == 1  # type: ignore[union-attr]
        assert answer.related_ebd_id == f"01{PLATFORM_EBRID}" + "0" * 16
        assert await _refusals(e) == []


async def _reports(e: Engine, count: int) -> list[Report]:
    """The first `count` packages the simulator pushed, once ewb has answered them."""
    reports = e.sims["broadcast"][REPORTS]
    for _ in range(200):
        if len(reports) >= count:
            return list(reports)[:count]
        await asyncio.sleep(0.05)
    pytest.fail(f"the simulator pushed {len(reports)} reports, not {count}")


SIM_TERMINALS = [(T1, "320921100001", True), (T4, "320921100000", False)]


async def _first_of_ebm(e: Engine, ebm_id: str) -> tuple[Report, Report]:
    """The first terminal-state report, and the first state report of this EBM (a gap
    re-broadcast's own reports may come between the two)."""
    reports = e.sims["broadcast"][REPORTS]
    for _ in range(200):
        devices = [r for r in reports if r.ebd_type == "EBRDTState"]
        states = [r for r in reports if r.ebd_type == "EBMStateResponse" and r.ebm_id == ebm_id]
        if devices and states:
            return devices[0], states[0]
        await asyncio.sleep(0.05)
    pytest.fail(f"the simulator pushed no state report of {ebm_id}: {list(reports)}")


async def test_the_simulator_reports_playback_and_ewb_applies_it(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, terminals=SIM_TERMINALS, **KEYS) as e:
        wid, ebm_id = await _issued(api, e)
        devices, played = await _first_of_ebm(e, ebm_id)
        assert (devices.ebd_type, devices.answer) == ("EBRDTState", 1)
        assert (played.ebd_type, played.ebm_id, played.answer) == ("EBMStateResponse", ebm_id, 1)
        assert dict(played.states) == {T1: ebd_state.PLAYED, T4: ebd_state.FAILED}
        events = await _events(e, wid)
        assert [name for name, _ in events[T1] if name != "terminal-ack"] == ["played"]
        # The platform said T4 was off before it reported the EBM: it failed at once.
        assert events[T4] == [("failed", "terminal-offline")]
        async with e.services.store.read() as tx:
            rows = await tx.conn.execute(select(tables.terminals.c.id, tables.terminals.c.status))
            assert dict(rows.all())["T4"] == "offline"
            (kept,) = await tx.platform.states(ebm_id)
        assert (kept.code, kept.coverage_rate) == (ebd_state.FAILED, 0.5)


async def test_a_failed_broadcast_gives_no_credit_anywhere(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(
        settings, clock, terminals=SIM_TERMINALS, sim_broadcast_fail_share=1.0, **KEYS
    ) as e:
        wid, ebm_id = await _issued(api, e)
        _, failed = await _first_of_ebm(e, ebm_id)
        assert set(dict(failed.states).values()) == {ebd_state.FAILED}
        assert e.sims["broadcast"][ACKS] == []  # no terminal played it
        events = await _events(e, wid)
        assert events[T1] == [("failed", "playback-failed")]
        assert events[T4] == [("failed", "terminal-offline")]  # reported off before
        coverage = await ok(api.get(f"/warnings/{wid}/coverage"))
        assert coverage["county"]["terminals_played"] == 0
        assert coverage["county"]["broadcast_population"] == 0


async def test_heartbeats_and_the_alert_of_a_silent_platform(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, **KEYS) as e, aiohttp.ClientSession() as session:
        red = await issue_new(api, grade="red", areas=[TOWN])
        config = providers.broadcast(e.settings)
        alive = PlatformLink(config, session, e.services.clock)
        silent = bound_socket()  # bound, never listening: the platform is down
        dead_url = f"http://127.0.0.1:{silent.getsockname()[1]}/ebd"
        dead = PlatformLink(replace(config, url=dead_url), session, e.services.clock, timeout=2)

        link = await heartbeat(e.services, alive)
        assert (link.missed, link.last_answer_at) == (0, clock.now)
        beats = [
            p
            for p in e.sims["broadcast"][PACKAGES]
            if p.package and p.package.ebd_type == "ConnectionCheck"
        ]
        assert [b.result_code for b in beats] == [1]  # the platform got it and took it

        chief = await sign_in(api.client, "duty_chief")
        for missed in range(1, MISSED_ALERT + 1):
            page = await chief.get(f"/console/warnings/{red['id']}/live")
            assert 'id="platform-down"' not in page.text  # not before the third silence
            assert (await heartbeat(e.services, dead)).missed == missed
        page = await chief.get(f"/console/warnings/{red['id']}/live")
        assert 'id="platform-down"' in page.text and "3 heartbeats" in page.text
        await heartbeat(e.services, alive)  # it answers again: the alert goes
        page = await chief.get(f"/console/warnings/{red['id']}/live")
        assert 'id="platform-down"' not in page.text
        silent.close()


async def test_unconfirmed_ebms_are_asked_about_and_the_answer_is_applied(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with (
        engine(
            settings, clock, terminals=SIM_TERMINALS, broadcast_state_poll_seconds=120, **KEYS
        ) as e,
        aiohttp.ClientSession() as session,
    ):
        e.sims["broadcast"][ACK_GATE].clear()  # the terminals stay silent for now
        wid, ebm_id = await _issued(api, e)
        link = PlatformLink(providers.broadcast(e.settings), session, e.services.clock)
        assert await poll_states(e.services, link) == 0  # not yet: sent under 120 s ago
        coverage = await ok(api.get(f"/warnings/{wid}/coverage"))
        assert coverage["county"]["terminals_played"] == 0  # unconfirmed: no credit

        clock.now += timedelta(seconds=121)
        assert await poll_states(e.services, link) == 1
        asked = [
            ebd_state.requested_ebm(p.package)
            for p in e.sims["broadcast"][PACKAGES]
            if p.package and p.package.ebd_type == "EBMStateRequest"
        ]
        assert asked == [ebm_id]
        (waiting,) = await _reports(e, 1)
        assert (waiting.ebm_id, waiting.answer) == (ebm_id, 1)
        async with e.services.store.read() as tx:
            assert [s.code for s in await tx.platform.states(ebm_id)] == [ebd_state.WAITING]

        e.sims["broadcast"][ACK_GATE].set()  # they play; the platform reports it
        reports = await _reports(e, 3)
        assert reports[-1].ebd_type == "EBMStateResponse" and reports[-1].answer == 1
        events = await _events(e, wid)
        assert [name for name, _ in events[T1]] == ["played"]
        clock.now += timedelta(seconds=121)
        assert await poll_states(e.services, link) == 0  # settled (T1 played, T4 failed)


async def test_a_failed_first_play_gets_the_gap_actions_at_once(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, gap_check_minutes=10, **KEYS) as e:
        wid, ebm_id = await _issued(api, e)
        signer = ebd_sign.Signer(PLATFORM_PRIVATE)
        failed = [ResourceState(T1, ebd_state.FAILED), ResourceState(T4, ebd_state.PLAYED)]
        report = _state(ebm_id, ebd_state.FAILED, signer, created=clock.now, resources=failed)
        assert (await _post(e, report)).response.result_code == 1  # type: ignore[union-attr]
        later = [d for d in await e.deliveries(wid) if d.repeat > 0 or d.recipient_kind == "gap"]
        # T1's village (320921100001, nobody reached there) is played again at once, not
        # after gap_check_minutes, and its officer is asked to relay.
        assert {
            (d.recipient_kind, d.recipient_id, d.repeat) for d in later if d.channel == "broadcast"
        } == {("terminal", "T1", 1)}
        assert [d.recipient_id for d in later if d.recipient_kind == "gap"] == ["officer_b"]
        async with e.services.store.read() as tx:
            rows = await tx.conn.execute(
                select(tables.audit_log.c.details).where(
                    tables.audit_log.c.action == "gaps.playback_failed"
                )
            )
            (details,) = [r.details for r in rows]
        assert details["areas_below_target"] == ["320921100001"]

        await e.runner.drain()  # the repeat goes out; the platform says it failed again
        repeat = next(d for d in await e.deliveries(wid) if d.repeat == 1)
        assert repeat.provider_id and repeat.provider_id != ebm_id
        again = _state(repeat.provider_id, ebd_state.FAILED, signer, created=clock.now)
        await _post(e, again)
        found = await e.deliveries(wid)
        # A failing repeat is not played again and again, nor relayed again.
        assert [d for d in found if d.channel == "broadcast" and d.repeat > 1] == []
        assert [d.recipient_id for d in found if d.recipient_kind == "gap"] == ["officer_b"]
