"""The broadcast channel end to end: adapter → simulated platform → signed acks → ewb.

ewb (make_app) and the simulator each run on 127.0.0.1 on a port of their own; the
simulator's acks reach ewb's webhook over HTTP and land in the database under test.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from gmssl import sm2  # type: ignore[import-untyped]
from sqlalchemy import func, select

from channels import ebd, ebd_read, ebd_sign
from channels.base import Alert, Batch, Message, Outcome, SendResult
from channels.broadcast import BroadcastAdapter, ack_signature
from config.providers import SANDBOX_BROADCAST_SECRET, broadcast
from config.settings import Settings, load_settings
from ewb.bootstrap import make_app
from ewb.services import Services
from sim.broadcast import ACK_GATE, ACKS, PACKAGES, create_app, load_terminals
from store.tables import delivery_events
from tests.integration.conftest import FakeClock
from tests.integration.servers import bound_socket, start
from tests.support import TZ

ONLINE_VILLAGE = "33209211010050314010000"  # 新中居委会IP音柱1, 320921101005
ONLINE_HARBOUR = "33209211010000314020000"  # 陈家港渔港大喇叭1, extra area 320921101E02
OFFLINE = "33209211010050314020000"  # 新中居委会IP音柱2, offline
TITLE = "响水县气象台发布台风红色预警信号"
TEXT = "预计未来12小时内陈家港镇将受台风严重影响，风力12级以上，请立即停止户外活动。"


@dataclass
class Stack:
    settings: Settings
    clock: FakeClock
    ewb_url: str
    sim: web.Application
    session: aiohttp.ClientSession
    adapter: BroadcastAdapter


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    """ewb and the simulator (with the sample terminals) serving, wired to each other."""
    ewb_sock, sim_sock = bound_socket(), bound_socket()
    ewb_url = f"http://127.0.0.1:{ewb_sock.getsockname()[1]}"
    wired = load_settings(
        database_url=settings.database_url,
        var_dir=settings.var_dir,
        public_base_url=ewb_url,
        sim_broadcast_port=sim_sock.getsockname()[1],
        webhook_grace_seconds=settings.webhook_grace_seconds,
    )
    # The simulator signs with the real time; ewb's clock stands still near it.
    clock = FakeClock(datetime.now(TZ))
    ewb = await start(make_app(wired, clock, scheduler=False), ewb_sock)
    sim_app = create_app(wired, load_terminals())
    sim = await start(sim_app, sim_sock)
    async with aiohttp.ClientSession() as session:
        adapter = BroadcastAdapter(broadcast(wired), session, clock)
        yield Stack(wired, clock, ewb_url, sim_app, session, adapter)
    await sim.cleanup()
    await ewb.cleanup()


def alert(clock: FakeClock, sequence: int = 1) -> Alert:
    return Alert(
        warning_id=1,
        version=1,
        event_code="11B01",
        grade_rank=4,
        sender_name="响水县气象台",
        sender_code="32092141600000",
        sent=clock.now,
        start=clock.now,
        end=clock.now + timedelta(hours=24),
        sequence=sequence,
    )


def ebm_id_of(stack: Stack, sequence: int = 1) -> str:
    return ebd.ebm_id(stack.settings.broadcast_source_ebrid, stack.clock.now, sequence)


async def add_deliveries(services: Services, endpoints: list[str], now: datetime) -> list[int]:
    async with services.store.write() as tx:
        return [
            await tx.deliveries.add(
                warning_id=1,
                version=1,
                recipient_kind="terminal",
                recipient_id=f"T-{endpoint}",
                channel="broadcast",
                address=endpoint,
                now=now,
            )
            for endpoint in endpoints
        ]


async def record(services: Services, results: list[SendResult], now: datetime) -> None:
    async with services.store.write() as tx:
        for result in results:
            await tx.deliveries.record_result(result, now)


async def events(services: Services, delivery_id: int) -> list[str]:
    async with services.store.read() as tx:
        return [e.event for e in await tx.deliveries.events(delivery_id)]


async def state(services: Services, delivery_id: int) -> str:
    async with services.store.read() as tx:
        found = await tx.deliveries.get(delivery_id)
    assert found is not None
    return found.state


async def event_count(services: Services) -> int:
    async with services.store.read() as tx:
        return int(
            (await tx.conn.execute(select(func.count()).select_from(delivery_events))).scalar_one()
        )


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll until `check` holds; fail (not hang) after a generous deadline."""
    deadline = asyncio.get_running_loop().time() + 15
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_batch_of_three_terminals_is_played_by_the_two_online(
    stack: Stack, services: Services
) -> None:
    endpoints = [ONLINE_VILLAGE, ONLINE_HARBOUR, OFFLINE]
    ids = await add_deliveries(services, endpoints, stack.clock.now)
    messages = tuple(Message(i, e, TEXT, TITLE) for i, e in zip(ids, endpoints, strict=True))
    batch = Batch("broadcast", messages, alert(stack.clock), ("320921101",), sequence=5)
    stack.sim[ACK_GATE].clear()  # terminals answer only once ewb has stored what it sent

    results = await stack.adapter.send(batch)

    ebm_id = ebm_id_of(stack)
    assert results == [SendResult.accepted(i, ebm_id) for i in ids]
    await record(services, results, stack.clock.now)
    stack.sim[ACK_GATE].set()

    async def both_played() -> bool:
        return all(["played" in await events(services, i) for i in ids[:2]])

    await eventually(both_played, "the two online terminals' played events")
    # The whole township hears it: every online terminal of 320921101 acks, offline ones never.
    township = [e for e, area, online in load_terminals() if online and area[:9] == "320921101"]

    async def all_acked() -> bool:
        return len(stack.sim[ACKS]) >= len(township)

    await eventually(all_acked, "every online terminal's ack")
    acks = stack.sim[ACKS]
    assert sorted(a.endpoint_id for a in acks) == sorted(township)
    assert OFFLINE not in {a.endpoint_id for a in acks}
    assert {(a.ebm_id, a.answer) for a in acks} == {(ebm_id, 200)}  # unknown ones: ignored
    # Each online terminal's JSON ack is a note; the platform's state report plays it.
    assert await events(services, ids[0]) == ["queued", "sent", "terminal-ack", "played"]
    assert await events(services, ids[1]) == ["queued", "sent", "terminal-ack", "played"]
    assert (await events(services, ids[2]))[:2] == ["queued", "sent"]
    assert "played" not in await events(services, ids[2])
    assert [await state(services, i) for i in ids[:2]] == ["delivered", "delivered"]
    received = stack.sim[PACKAGES]
    assert [(p.filename, p.result_code) for p in received] == [
        (f"EBDT_10{stack.settings.broadcast_source_ebrid}{5:016d}.tar", 1)
    ]
    package = received[0].package
    assert package is not None and package.ebm is not None
    assert package.ebm.area_codes == ("320921101000",)
    assert package.dest_ebrid == stack.settings.broadcast_dest_ebrid


# --- the ack webhook -----------------------------------------------------------------------


async def sent_delivery(stack: Stack, services: Services, endpoint: str = ONLINE_VILLAGE) -> int:
    (delivery_id,) = await add_deliveries(services, [endpoint], stack.clock.now)
    accepted = SendResult.accepted(delivery_id, ebm_id_of(stack))
    await record(services, [accepted], stack.clock.now)
    return delivery_id


def ack_body(stack: Stack, endpoint: str = ONLINE_VILLAGE, **changes: Any) -> bytes:
    payload = {
        "ebm_id": ebm_id_of(stack),
        "endpoint_id": endpoint,
        "status": "played",
        "at": stack.clock.now.isoformat(),
    }
    payload.update(changes)
    return json.dumps(payload).encode()


async def post_ack(
    stack: Stack,
    body: bytes,
    *,
    secret: str = SANDBOX_BROADCAST_SECRET,
    timestamp: str | None = None,
    signature: str | None = None,
    signed_body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    stamp = str(int(stack.clock.now.timestamp())) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "X-EWB-Timestamp": stamp,
        "X-EWB-Signature": signature
        if signature is not None
        else ack_signature(secret, stamp, body if signed_body is None else signed_body),
    }
    headers = {k: v for k, v in headers.items() if v != "-"}
    url = f"{stack.ewb_url}/webhooks/broadcast/ack"
    async with stack.session.post(url, data=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def test_a_genuine_ack_is_noted_once_and_a_replay_stores_nothing(
    stack: Stack, services: Services
) -> None:
    delivery_id = await sent_delivery(stack, services)
    body = ack_body(stack)
    assert await post_ack(stack, body) == (200, {"status": "recorded", "delivery_id": delivery_id})
    assert await events(services, delivery_id) == ["queued", "sent", "terminal-ack"]
    # No real platform calls this webhook: only its EBMStateResponse counts as played.
    assert await state(services, delivery_id) == "sent"
    count = await event_count(services)

    replayed = await post_ack(stack, body)
    later = await post_ack(
        stack, ack_body(stack, at=(stack.clock.now + timedelta(seconds=9)).isoformat())
    )
    assert replayed == later == (200, {"status": "duplicate", "delivery_id": delivery_id})
    assert await event_count(services) == count


FORGERIES: dict[str, dict[str, Any]] = {
    "wrong secret": {"secret": "guessed-secret"},
    "body changed after signing": {"signed_body": b'{"status": "failed"}'},
    "no signature": {"signature": "-"},
    "empty signature": {"signature": ""},
    "bare hex without sha256=": {"signature": "0" * 64},
    "no timestamp": {"timestamp": "-"},
    "timestamp not a number": {"timestamp": "yesterday"},
    "signed for another timestamp": {
        "signature": ack_signature(SANDBOX_BROADCAST_SECRET, "1", b"")
    },
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_acks_are_refused(
    stack: Stack, services: Services, forgery: dict[str, Any]
) -> None:
    delivery_id = await sent_delivery(stack, services)
    count = await event_count(services)
    status, body = await post_ack(stack, ack_body(stack), **forgery)
    assert (status, body["error"]) == (403, "bad_signature")
    assert await event_count(services) == count
    assert await state(services, delivery_id) == "sent"


@pytest.mark.parametrize(("skew", "status"), [(-301, 403), (301, 403), (-299, 200), (299, 200)])
async def test_timestamps_over_five_minutes_off_are_refused(
    stack: Stack, services: Services, skew: int, status: int
) -> None:
    delivery_id = await sent_delivery(stack, services)
    stamp = str(int(stack.clock.now.timestamp()) + skew)
    answer, body = await post_ack(stack, ack_body(stack), timestamp=stamp)
    assert answer == status
    if status == 403:
        assert body["error"] == "stale_timestamp"
        assert "terminal-ack" not in await events(services, delivery_id)


async def test_a_stale_genuine_ack_is_refused_when_our_clock_moved_on(
    stack: Stack, services: Services
) -> None:
    delivery_id = await sent_delivery(stack, services)
    body, stamp = ack_body(stack), str(int(stack.clock.now.timestamp()))
    stack.clock.now += timedelta(minutes=6)  # the same signed request, captured and replayed
    status, answer = await post_ack(stack, body, timestamp=stamp)
    assert (status, answer["error"]) == (403, "stale_timestamp")
    assert "terminal-ack" not in await events(services, delivery_id)


async def test_a_failed_playback_is_noted_once_with_its_detail(
    stack: Stack, services: Services
) -> None:
    delivery_id = await sent_delivery(stack, services)
    body = ack_body(stack, status="failed", detail="功放故障")
    assert (await post_ack(stack, body))[0] == 200
    assert (await post_ack(stack, body))[1]["status"] == "duplicate"
    async with services.store.read() as tx:
        recorded = (await tx.deliveries.events(delivery_id))[2:]
    assert [(e.event, e.provider_code, e.detail) for e in recorded] == [
        ("terminal-ack", "failed", "功放故障")
    ]
    assert await state(services, delivery_id) == "sent"  # the platform's report decides


async def test_acks_for_unknown_messages_or_terminals_create_nothing(
    stack: Stack, services: Services
) -> None:
    await sent_delivery(stack, services)
    count = await event_count(services)
    unknown_ebm = ack_body(stack, ebm_id=ebm_id_of(stack, sequence=99))
    unknown_terminal = ack_body(stack, endpoint_id=OFFLINE)
    for body in (unknown_ebm, unknown_terminal):
        status, answer = await post_ack(stack, body)
        assert (status, answer["status"]) == (200, "ignored")
    assert await event_count(services) == count


ACK = {"ebm_id": "x", "endpoint_id": "y", "status": "played", "at": "2026-07-28T08:00:00+08:00"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 422),
        (b'{"ebm_id": "1"}', 422),
        (json.dumps(ACK | {"status": "exploded"}), 422),
        (json.dumps(ACK | {"at": "2026-07-28 08:00"}), 422),  # no UTC offset
        (json.dumps(ACK | {"at": "yesterday"}), 422),
        (json.dumps(ACK | {"endpoint_id": 33209211010050314010000}), 422),
    ],
)
async def test_signed_but_malformed_acks_are_refused(
    stack: Stack, services: Services, body: bytes | str, status: int
) -> None:
    count = await event_count(services)
    raw = body.encode() if isinstance(body, str) else body
    assert (await post_ack(stack, raw))[0] == status
    assert await event_count(services) == count


async def test_without_a_secret_no_ack_is_believed(
    settings: Settings, aiohttp_client: Any, clock: FakeClock
) -> None:
    live = load_settings(
        database_url=settings.database_url,
        var_dir=settings.var_dir,
        broadcast_url="https://platform.example/receive/ebd.htm",
    )
    assert broadcast(live).secret == ""
    client = await aiohttp_client(make_app(live, clock, scheduler=False))
    stamp = str(int(clock.now.timestamp()))
    body = json.dumps(ACK).encode()
    reply = await client.post(
        "/webhooks/broadcast/ack",
        data=body,
        headers={"X-EWB-Timestamp": stamp, "X-EWB-Signature": ack_signature("", stamp, body)},
    )
    assert reply.status == 403
    assert (await reply.json())["error"] == "forbidden"


# --- the simulator on its own --------------------------------------------------------------


@pytest.fixture
async def lone_sim(tmp_path: Path) -> AsyncIterator[tuple[str, web.Application]]:
    """The simulator with the sample terminals; its acks go to a port nobody listens on."""
    with bound_socket() as nobody:
        nowhere = f"http://127.0.0.1:{nobody.getsockname()[1]}"
    sim_sock = bound_socket()
    lone = load_settings(
        var_dir=tmp_path,
        public_base_url=nowhere,
        sim_broadcast_port=sim_sock.getsockname()[1],
    )
    app = create_app(lone, load_terminals(), ack_delay=0)
    runner = await start(app, sim_sock)
    yield f"http://127.0.0.1:{sim_sock.getsockname()[1]}/ebd", app
    await runner.cleanup()


SOURCE = "43209210000000102010101"
GOOD = Alert(
    warning_id=2,
    version=1,
    event_code="11B03",
    grade_rank=2,
    sender_name="响水县气象台",
    sender_code="32092141600000",
    sent=datetime(2026, 7, 28, 8, 0, tzinfo=TZ),
    start=datetime(2026, 7, 28, 8, 0, tzinfo=TZ),
    end=datetime(2026, 7, 29, 8, 0, tzinfo=TZ),
    sequence=8,
)


def good_package(
    sequence: int = 1, areas: tuple[str, ...] = ("320921101005",)
) -> tuple[str, bytes]:
    return ebd.build_ebd(
        alert=GOOD,
        title="暴雨黄色预警",
        desc="陈家港镇将出现暴雨，请注意防范。",
        areas=areas,
        source_ebrid=SOURCE,
        dest_ebrid="43209210000000103010101",
        sequence=sequence,
        created=GOOD.sent,
    )


def tampered(*edits: tuple[bytes, bytes]) -> bytes:
    """The good package with its EBDB XML edited (the file name kept)."""
    _, tar = good_package(sequence=2)
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as opened:
        files = {m.name: opened.extractfile(m).read() for m in opened}  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as out:
        for name, content in files.items():
            for old, new in edits:
                assert old in content
                content = content.replace(old, new)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


MALFORMED: dict[str, tuple[bytes, int]] = {
    "garbage file": (b"\x00\x01 not a tar", 2),
    "XML cut short": (tampered((b"</EBD>", b"")), 2),
    "MsgTitle missing": (
        tampered((b"<MsgTitle>", b"<Title>"), (b"</MsgTitle>", b"</Title>")),
        3,
    ),
    "EBMID too short": (tampered((b"202607280008<", b"20260728008<")), 3),
    "Severity 0": (tampered((b"<Severity>3<", b"<Severity>0<")), 3),
    "MsgType 7": (tampered((b"<MsgType>1<", b"<MsgType>7<")), 3),
    "AreaCode 9 digits": (tampered((b"<AreaCode>320921101005<", b"<AreaCode>320921101<")), 3),
}


@dataclass
class Answer:
    status: int
    content_type: str
    disposition: str
    body: bytes


async def _post(url: str, data: Any) -> Answer:
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as reply:
        disposition = reply.headers.get("Content-Disposition", "")
        return Answer(reply.status, reply.content_type, disposition, await reply.read())


async def _post_file(url: str, tar: bytes, *, name: str = "file") -> Answer:
    form = aiohttp.FormData()
    form.add_field(name, tar, filename="EBDT_x.tar", content_type="application/x-tar")
    return await _post(url, form)


@pytest.mark.parametrize(("tar", "code"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_the_simulator_refuses_malformed_packages(
    lone_sim: tuple[str, web.Application], tar: bytes, code: int
) -> None:
    url, app = lone_sim
    reply = await _post_file(url, tar)
    assert reply.status == 200
    assert reply.content_type == "application/x-tar"
    answer = ebd_read.parse_ebd(reply.body)
    assert reply.disposition == f"attachment; filename=EBDT_{answer.ebd_id}.tar"
    assert answer.response is not None and answer.response.result_code == code
    assert answer.response.result_desc
    assert [p.result_code for p in app[PACKAGES]] == [code]
    # A refused package is never broadcast: the next, sound one is the only one acked.
    sound = await _post_file(url, good_package()[1])
    assert ebd_read.read_response(sound.body).result_code == 1

    async def acked() -> bool:
        return len(app[ACKS]) >= 1

    await eventually(acked, "the sound package's ack")
    assert [(a.endpoint_id, a.answer) for a in app[ACKS]] == [(ONLINE_VILLAGE, 0)]


async def test_the_simulator_needs_the_file_part(lone_sim: tuple[str, web.Application]) -> None:
    url, app = lone_sim
    wrong_part = await _post_file(url, good_package()[1], name="package")
    assert ebd_read.read_response(wrong_part.body).result_code == 2
    not_multipart = await _post(url, good_package()[1])
    assert ebd_read.read_response(not_multipart.body).result_code == 2
    assert [p.result_code for p in app[PACKAGES]] == [2, 2]


async def test_the_simulator_answers_with_the_related_ebd(
    lone_sim: tuple[str, web.Application],
) -> None:
    url, _ = lone_sim
    name, tar = good_package(sequence=77)
    answer = ebd_read.parse_ebd((await _post_file(url, tar)).body)
    assert answer.related_ebd_id == name.removeprefix("EBDT_").removesuffix(".tar")
    assert answer.source_ebrid == "43209210000000103010101"
    assert answer.dest_ebrid == SOURCE


@pytest.mark.parametrize(
    ("fault", "wait", "code"),
    [({"sim_rate_500": 1.0}, 5.0, "http-500"), ({"sim_latency_ms": 500}, 0.1, "timeout")],
    ids=["500", "latency"],
)
async def test_simulated_faults_reach_the_adapter_as_retryable(
    tmp_path: Path, fault: dict[str, float], wait: float, code: str
) -> None:
    sock = bound_socket()
    faulty = load_settings(var_dir=tmp_path, sim_broadcast_port=sock.getsockname()[1], **fault)
    runner = await start(create_app(faulty), sock)
    batch = Batch("broadcast", (Message(1, ONLINE_VILLAGE, TEXT, TITLE),), GOOD, ("320921",))
    async with aiohttp.ClientSession() as session:
        adapter = BroadcastAdapter(broadcast(faulty), session, lambda: GOOD.sent, timeout=wait)
        (result,) = await adapter.send(batch)
    await runner.cleanup()
    assert (result.outcome, result.code) == (Outcome.RETRYABLE, code)


# --- SM2 signatures between ewb and the simulator -----------------------------------------

EWB_PRIVATE = "1aac66088239867ee9b55e9e45dc87be28f312bedeb8834655364b09c4e46c8f"
EWB_PUBLIC = (
    "c5d7f6786f12aa50a35e8862af25211327a47cddd2f531f09d5505c848f41737"
    "05418caa7ae36465ac875941607265d0f5699572d4a77d45b3b93e0c4e4b4cf3"
)
SIM_PRIVATE = "d540ba58b419b703935cedc7a0e3ada3a42c1e8ed0c4bfc3885c08e1e6aedc33"
SIM_PUBLIC = (
    "e64eedb6ac517ec10917e3e77d47110e6f07da80e9bb169d043f754f0a0caed3"
    "c591161c71ff6b118d0a30e0abaf0405f6c62519861e08186fc45f82bea32272"
)
EWB_KEYS = {
    "broadcast_private_key": EWB_PRIVATE,
    "broadcast_public_key": EWB_PUBLIC,
    "broadcast_cert_sn": "0000000033aa",
}


@asynccontextmanager
async def keyed_sim(tmp_path: Path, **keys: str) -> AsyncIterator[tuple[str, web.Application]]:
    """The simulator with these key settings; its acks go to a port nobody listens on."""
    with bound_socket() as nobody:
        nowhere = f"http://127.0.0.1:{nobody.getsockname()[1]}"
    sim_sock = bound_socket()
    keyed = load_settings(
        var_dir=tmp_path,
        public_base_url=nowhere,
        sim_broadcast_port=sim_sock.getsockname()[1],
        **keys,
    )
    app = create_app(keyed, load_terminals(), ack_delay=0)
    runner = await start(app, sim_sock)
    try:
        yield f"http://127.0.0.1:{sim_sock.getsockname()[1]}/ebd", app
    finally:
        await runner.cleanup()


def signed_package(signer: ebd_sign.Signer | None, sequence: int = 3) -> bytes:
    return ebd.build_ebd(
        alert=GOOD,
        title="暴雨黄色预警",
        desc="陈家港镇将出现暴雨，请注意防范。",
        areas=("320921101005",),
        source_ebrid=SOURCE,
        dest_ebrid="43209210000000103010101",
        sequence=sequence,
        created=GOOD.sent,
        signer=signer,
    )[1]


def edited_ebdb(tar: bytes, old: bytes, new: bytes) -> bytes:
    """The package with its EBDB edited after signing (the EBDS kept as it was)."""
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as opened:
        files = {m.name: opened.extractfile(m).read() for m in opened}  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as out:
        for name, content in files.items():
            if name.startswith("EBDB_"):
                assert old in content
                content = content.replace(old, new)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def heartbeat() -> bytes:
    """An unsigned ConnectionCheck, built with the envelope and tar helpers of channels.ebd."""
    package_id = "01" + SOURCE + "0" * 16
    root = ebd._envelope(
        package_id, "ConnectionCheck", SOURCE, "43209210000000103010101", GOOD.sent
    )
    ebd._sub(ebd._sub(root, "ConnectionCheck"), "RptTime", "2026-07-28 08:00:00")
    return ebd._tar(package_id, root, {}, GOOD.sent)[1]


EWB = ebd_sign.Signer(EWB_PRIVATE, EWB_PUBLIC, "0000000033aa")
SIGNED_PACKAGES: dict[str, tuple[bytes, int, str]] = {
    "signed by ewb": (signed_package(EWB), 1, ""),
    "unsigned": (signed_package(None), 4, "no EBDS"),
    "signed by another key": (signed_package(ebd_sign.Signer(SIM_PRIVATE)), 4, "does not match"),
    "edited after signing": (
        edited_ebdb(signed_package(EWB), b"<Severity>3<", b"<Severity>1<"),
        4,
        "does not match",
    ),
    "unsigned heartbeat": (heartbeat(), 1, ""),
}


@pytest.mark.parametrize(("tar", "code", "says"), SIGNED_PACKAGES.values(), ids=SIGNED_PACKAGES)
async def test_the_simulator_with_ewb_s_key_refuses_unsigned_packages(
    tmp_path: Path, tar: bytes, code: int, says: str
) -> None:
    async with keyed_sim(tmp_path, broadcast_public_key=EWB_PUBLIC) as (url, app):
        answer = ebd_read.read_response((await _post_file(url, tar)).body)
        assert (answer.result_code, app[PACKAGES][0].result_code) == (code, code)
        assert says in answer.result_desc
        if code == 1 and b"<EBM>" in tar:

            async def acked() -> bool:
                return len(app[ACKS]) == 1

            await eventually(acked, "the signed package's ack")
        else:
            await asyncio.sleep(0.05)  # a refused package is never broadcast
            assert app[ACKS] == []


async def test_the_simulator_signs_its_replies_with_its_own_key(tmp_path: Path) -> None:
    async with keyed_sim(tmp_path, sim_broadcast_private_key=SIM_PRIVATE) as (url, _):
        reply = ebd_read.parse_ebd((await _post_file(url, signed_package(None))).body)
    assert reply.response is not None and reply.response.result_code == 1
    assert reply.signature is not None
    ebd_sign.verify(reply.signature, reply.ebdb, SIM_PUBLIC)
    signature = ebd_sign.parse_signature(reply.signature)
    assert sm2.CryptSM2(private_key="", public_key=SIM_PUBLIC).verify_with_sm3(
        signature.r_s.hex(), reply.ebdb
    )
    assert signature.related_ebd_id == reply.ebd_id


ADAPTER_KEYS: dict[str, tuple[dict[str, str], dict[str, str], Outcome, str, str]] = {
    "both sides keyed": (
        {**EWB_KEYS, "broadcast_platform_public_key": SIM_PUBLIC},
        {"broadcast_public_key": EWB_PUBLIC, "sim_broadcast_private_key": SIM_PRIVATE},
        Outcome.ACCEPTED,
        "",
        "",
    ),
    "ewb unsigned": (
        {},
        {"broadcast_public_key": EWB_PUBLIC},
        Outcome.PERMANENT,
        "ebd-4",
        "set broadcast_private_key",
    ),
    "the platform does not sign": (
        {"broadcast_platform_public_key": SIM_PUBLIC},
        {},
        Outcome.RETRYABLE,
        "ebd-reply",
        "no EBDS",
    ),
    "the platform signs with another key": (
        {"broadcast_platform_public_key": EWB_PUBLIC},
        {"sim_broadcast_private_key": SIM_PRIVATE},
        Outcome.RETRYABLE,
        "ebd-reply",
        "does not match",
    ),
}


@pytest.mark.parametrize(
    ("ewb_keys", "sim_keys", "outcome", "code", "detail"),
    ADAPTER_KEYS.values(),
    ids=ADAPTER_KEYS,
)
async def test_the_adapter_and_the_simulator_check_each_other(
    tmp_path: Path,
    ewb_keys: dict[str, str],
    sim_keys: dict[str, str],
    outcome: Outcome,
    code: str,
    detail: str,
) -> None:
    async with keyed_sim(tmp_path, **sim_keys) as (url, app):
        port = urlsplit(url).port
        sending = load_settings(var_dir=tmp_path, sim_broadcast_port=port, **ewb_keys)
        batch = Batch("broadcast", (Message(1, ONLINE_VILLAGE, TEXT, TITLE),), GOOD, ("320921",))
        async with aiohttp.ClientSession() as session:
            adapter = BroadcastAdapter(broadcast(sending), session, lambda: GOOD.sent)
            (result,) = await adapter.send(batch)
    assert (result.outcome, result.code or "") == (outcome, code)
    assert detail in (result.detail or "")
    sent = app[PACKAGES][0].package
    assert sent is not None and (sent.signature is not None) is (
        "broadcast_private_key" in ewb_keys
    )
