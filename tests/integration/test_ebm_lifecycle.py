"""The EBM lifecycle as the broadcast platform receives it (counted at the simulator): an
update names the EBM it replaces per terminal, a cancel goes only to the terminals that
were sent what it cancels and names it, a township and its villages are addressed once,
and an exercise plays as the configured drill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from channels.ebd import MSG_ACTUAL, MSG_CANCEL, Ebd
from sim.broadcast import PACKAGES
from subscribers.terminals import Terminal
from tests.integration.conftest import Api, FakeClock
from tests.integration.engine import Engine, engine
from tests.integration.flows import APPROVERS, issue_new, ok, release
from tests.integration.test_fanout import add_relays

TOWN = "320921100"  # 响水镇: T1's village 320921100001 lies in it
CANAL = "320921107"  # 运河镇: T3's village


async def _with_town_terminal(e: Engine) -> None:
    """The three loudspeakers of add_relays, and a town-level one over T1's village."""
    await add_relays(e.services)
    async with e.services.store.write() as tx:
        await tx.terminals.upsert(
            [Terminal("T4", "响水镇大喇叭", TOWN, "33209211000000314010000", None, "online")]
        )


def _received(e: Engine, since: int) -> list[Ebd]:
    """The EBM packages the simulator accepted after the first `since`."""
    got = e.sims["broadcast"][PACKAGES][since:]
    assert all(p.result_code == 1 for p in got), [(p.result_code, p.result_desc) for p in got]
    return [p.package for p in got if p.package is not None and p.package.ebm is not None]


def _terminals_sent(deliveries: list[Any], version: int) -> set[str]:
    return {
        d.recipient_id
        for d in deliveries
        if d.channel == "broadcast" and d.version == version and d.state in ("sent", "delivered")
    }


@pytest.mark.parametrize("reuse", ["new", "original"])
async def test_updates_and_cancels_name_the_ebm_they_replace(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
    reuse: str,
) -> None:
    async with engine(settings, clock, broadcast_cancel_ebmid=reuse) as e:
        await _with_town_terminal(e)
        red = await issue_new(api, grade="red", areas=[TOWN])
        await e.runner.drain()
        (first,) = _received(e, 0)
        assert first.ebm is not None
        assert (first.ebm.msg_type, first.ebm.related_ebm_id) == (MSG_ACTUAL, None)
        # T4 covers its town: T1's village is not listed again (it would play twice).
        assert first.ebm.area_codes == (f"{TOWN}000",)
        assert _terminals_sent(await e.deliveries(red["id"]), 1) == {"T1", "T4"}

        seen = len(e.sims["broadcast"][PACKAGES])
        await ok(
            api.post(
                f"/warnings/{red['id']}/revisions",
                "forecaster",
                {"action": "update", "areas": [TOWN, CANAL]},
            ),
            201,
        )
        await release(api, red["id"], APPROVERS["red"])
        await e.runner.drain()
        updates = {p.ebm.related_ebm_id: p.ebm for p in _received(e, seen) if p.ebm}
        # The town's terminals replace the first EBM; the canal's terminal never had one.
        assert set(updates) == {first.ebm.ebm_id, None}
        assert updates[first.ebm.ebm_id].area_codes == (f"{TOWN}000",)
        assert updates[None].area_codes == ("320921107001",)
        assert all(
            u.msg_type == MSG_ACTUAL and u.ebm_id != first.ebm.ebm_id for u in updates.values()
        )
        assert _terminals_sent(await e.deliveries(red["id"]), 2) == {"T1", "T3", "T4"}

        seen = len(e.sims["broadcast"][PACKAGES])
        await ok(
            api.post(f"/warnings/{red['id']}/revisions", "forecaster", {"action": "cancel"}), 201
        )
        await release(api, red["id"], ["duty_chief"])
        await e.runner.drain()
        cancels = [p.ebm for p in _received(e, seen) if p.ebm]
        assert {c.msg_type for c in cancels} == {MSG_CANCEL}
        assert {c.related_ebm_id for c in cancels} == {u.ebm_id for u in updates.values()}
        for cancel in cancels:
            assert (cancel.ebm_id == cancel.related_ebm_id) is (reuse == "original")
        assert sorted(c.area_codes for c in cancels) == sorted(
            u.area_codes for u in updates.values()
        )
        deliveries = await e.deliveries(red["id"])
        cancelled = {
            d.recipient_id for d in deliveries if d.channel == "broadcast" and d.version == 3
        }
        assert cancelled == {"T1", "T3", "T4"}  # T2 (another town) never had it: nothing


async def test_a_cancel_skips_terminals_the_warning_never_reached(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock) as e:
        await _with_town_terminal(e)
        flood = await issue_new(api, grade="orange", hazard="rainstorm", areas=[CANAL])
        await e.runner.drain()
        seen = len(e.sims["broadcast"][PACKAGES])
        await ok(
            api.post(f"/warnings/{flood['id']}/revisions", "forecaster", {"action": "cancel"}), 201
        )
        await release(api, flood["id"], ["duty_chief"])
        await e.runner.drain()
        (cancel,) = _received(e, seen)
        assert cancel.ebm is not None and cancel.ebm.area_codes == ("320921107001",)
        cancelled = [d for d in await e.deliveries(flood["id"], 2) if d.channel == "broadcast"]
        assert [d.recipient_id for d in cancelled] == ["T3"]


@pytest.mark.parametrize("drill", [3, 4, 5])
async def test_an_exercise_plays_as_the_configured_drill(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
    drill: int,
) -> None:
    async with engine(settings, clock, broadcast_drill_msg_type=drill) as e:
        await _with_town_terminal(e)
        await issue_new(api, grade="red", areas=[TOWN], mode="exercise")
        await e.runner.drain()
        (package,) = _received(e, 0)
        assert package.ebm is not None and package.ebm.msg_type == drill


async def test_speech_is_made_once_per_version_and_cached_under_var_dir(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    async with engine(settings, clock, broadcast_tts=True) as e:
        await _with_town_terminal(e)
        await issue_new(api, grade="red", areas=[TOWN, CANAL])  # all terminals, one text
        await e.runner.drain()
        packages = _received(e, 0)
        assert packages
        cached = sorted((e.settings.var_dir / "speech").glob("*.mp3"))
        assert len(cached) == 1  # one version, one locale: spoken once
        for package in packages:
            assert package.ebm is not None
            (aux,) = package.ebm.auxiliaries
            assert aux.type == 2 and package.resources[aux.desc] == cached[0].read_bytes()


async def test_a_speech_failure_sends_the_package_text_only_and_says_so(
    api: Api,
    settings,  # type: ignore[no-untyped-def]
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "no-espeak"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # espeak-ng cannot be found: no speech
    async with engine(settings, clock, broadcast_tts=True) as e:
        await _with_town_terminal(e)
        red = await issue_new(api, grade="red", areas=[TOWN])
        await e.runner.drain()
        (package,) = _received(e, 0)
        assert package.ebm is not None and package.ebm.auxiliaries == ()
        assert "台风" in package.ebm.desc  # the platform speaks the text itself
        loudspeakers = [d for d in await e.deliveries(red["id"]) if d.channel == "broadcast"]
        assert {d.state for d in loudspeakers} == {"sent"}
        async with e.services.store.read() as tx:
            for d in loudspeakers:
                sent = [x for x in await tx.deliveries.events(d.id) if x.event == "sent"]
                assert sent and "text only, no speech" in (sent[0].detail or "")
