"""The SMS channel over real HTTP: the adapter against the Twilio simulator, and the
simulator's signed callbacks and replies against ewb's webhooks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

from channels.base import Batch, Message, Outcome, SendResult
from channels.sms import SmsAdapter
from config import providers
from config.settings import Settings, load_settings
from ewb.bootstrap import make_app
from ewb.services import Services
from sim.twilio import CALLBACKS, SENT, Posted, create_app
from store.engine import create_engine
from store.tables import delivery_events, provider_callbacks
from subscribers.channels import DEFAULT_ORDER
from subscribers.residents import Resident
from tests.integration.conftest import FakeClock
from tests.integration.engine import callbacks_applied
from tests.integration.servers import bound_socket, serve
from tests.support import CHENJIAGANG_VILLAGE, NOW
from warning.grades import Grade

PHONE = "+8613812345678"
OTHER = "+8613987654321"
STATUS_PATH = "/webhooks/twilio/status"
T = TypeVar("T")


async def bounded(awaitable: Awaitable[T]) -> T:
    """Guards against a hang only; nothing here asserts on time."""
    return await asyncio.wait_for(awaitable, timeout=60)


def sms(*addresses: str) -> Batch:
    return Batch(
        "sms",
        tuple(Message(100 + n, a, "台风红色预警：渔船立即回港") for n, a in enumerate(addresses)),
    )


# --- the adapter against the simulator ----------------------------------------------------


@dataclass
class Sim:
    app: web.Application
    config: providers.Twilio  # what ewb's sandbox mode uses to reach it


@asynccontextmanager
async def simulator(tmp_path: Any, seed: int = 0, **faults: Any) -> AsyncIterator[Sim]:
    """The simulator alone; its callbacks are held back (no ewb listens here)."""
    sock = bound_socket()
    settings = load_settings(var_dir=tmp_path, sim_twilio_port=sock.getsockname()[1], **faults)
    app = create_app(settings, seed=seed)
    app[CALLBACKS].hold()
    async with serve(app, sock):
        yield Sim(app, providers.twilio(settings))


ANSWERS = [
    # id, address, simulator faults, config change, outcome, code, what the simulator answered
    ("201", PHONE, {}, {}, Outcome.ACCEPTED, None, 201),
    ("400 21211 invalid", "+15005550001", {}, {}, Outcome.PERMANENT, "21211", 400),
    ("400 21211 share", PHONE, {"sim_invalid_share": 1.0}, {}, Outcome.PERMANENT, "21211", 400),
    ("400 21614 not mobile", "+15005550009", {}, {}, Outcome.PERMANENT, "21614", 400),
    ("400 21610 unsubscribed", "+15005550004", {}, {}, Outcome.PERMANENT, "21610", 400),
    ("400 21610 ends 0000", "+8613800000000", {}, {}, Outcome.PERMANENT, "21610", 400),
    ("429 bare", "+15005550429", {}, {}, Outcome.RETRYABLE, "429", 429),
    ("429 20429", PHONE, {"sim_rate_429": 1.0}, {}, Outcome.RETRYABLE, "20429", 429),
    ("500", PHONE, {"sim_rate_500": 1.0}, {}, Outcome.RETRYABLE, "20500", 500),
    ("503 html", "+15005550503", {}, {}, Outcome.RETRYABLE, "503", 503),
    ("401 20003", PHONE, {}, {"auth_token": "wrong"}, Outcome.PERMANENT, "20003", None),
    ("timeout", PHONE, {"sim_latency_ms": 2000}, {}, Outcome.RETRYABLE, "timeout", None),
    ("refused", PHONE, {}, {"base_url": "closed"}, Outcome.RETRYABLE, "connection", None),
]


@pytest.mark.parametrize(
    ("address", "faults", "change", "outcome", "code", "answer"),
    [a[1:] for a in ANSWERS],
    ids=[a[0] for a in ANSWERS],
)
async def test_provider_answers_become_results(
    tmp_path: Any,
    address: str,
    faults: dict[str, Any],
    change: dict[str, str],
    outcome: Outcome,
    code: str | None,
    answer: int | None,
) -> None:
    async with simulator(tmp_path, **faults) as sim:
        closed = bound_socket()  # bound, never listening: connections to it are refused
        if change.get("base_url") == "closed":
            change = {"base_url": f"http://127.0.0.1:{closed.getsockname()[1]}"}
        # Only the timeout row waits less than the simulator takes; no other row may depend
        # on how fast this machine is.
        timeout = 0.5 if "sim_latency_ms" in faults else 10.0
        adapter = SmsAdapter(dataclasses.replace(sim.config, **change), timeout=timeout)
        try:
            [result] = await adapter.send(sms(address))
        finally:
            await adapter.close()
            closed.close()
        received = list(sim.app[SENT])
    assert (result.delivery_id, result.outcome, result.code) == (100, outcome, code), result
    assert address not in (result.detail or "")  # Twilio's error text names the number
    if answer is not None:
        assert [(m.to, m.answer) for m in received] == [(address, answer)]
    if outcome is Outcome.ACCEPTED:
        [message] = received
        assert result.provider_id == message.sid and (message.sid or "").startswith("SM")
        assert (message.from_, message.body, message.status_callback) == (
            sim.config.from_number,
            "台风红色预警：渔船立即回港",
            sim.config.status_callback,
        )
    else:
        assert result.provider_id is None


async def test_a_batch_comes_back_whole_and_in_order_under_faults(tmp_path: Any) -> None:
    faults = {"sim_rate_429": 0.2, "sim_rate_500": 0.1, "sim_invalid_share": 0.2}
    addresses = [f"+86139{n:08d}" for n in range(60)]
    async with simulator(tmp_path, seed=7, **faults) as sim:
        adapter = SmsAdapter(sim.config)
        try:
            results = await adapter.send(sms(*addresses))
        finally:
            await adapter.close()
    assert [r.delivery_id for r in results] == [100 + n for n in range(60)]
    by_sid = {m.sid: m.to for m in sim.app[SENT] if m.sid}
    for address, result in zip(addresses, results, strict=True):
        if result.outcome is Outcome.ACCEPTED:
            assert by_sid[result.provider_id or ""] == address
    assert sorted(_status_of(r) for r in results) == sorted(m.answer for m in sim.app[SENT])
    # The faults really happened (nothing stopped this batch: none is unsent).
    assert {r.outcome for r in results} == set(Outcome) - {Outcome.UNSENT}

    # Which numbers are invalid is fixed by the number: a retry gets the same answer.
    invalid = [a for a, r in zip(addresses, results, strict=True) if r.code == "21211"]
    async with simulator(tmp_path, seed=8, sim_invalid_share=0.2) as sim:
        adapter = SmsAdapter(sim.config)
        try:
            again = await adapter.send(sms(*addresses))
        finally:
            await adapter.close()
    assert invalid
    assert set(invalid) <= {a for a, r in zip(addresses, again, strict=True) if r.code == "21211"}
    assert {r.code for r in again} == {None, "21211", "21610"}  # +8613900000000: 21610


async def test_a_stopped_batch_starts_no_more_messages(tmp_path: Any) -> None:
    """A batch stopped while it is sent (it yields to urgent work): the messages already
    handed to Twilio finish, the others are answered `unsent` and never reach Twilio."""
    addresses = [f"+86139{n + 1:08d}" for n in range(40)]  # none ends in 0000 (unsubscribed)
    async with simulator(tmp_path, sim_latency_ms=300) as sim:
        adapter = SmsAdapter(sim.config, concurrency=5)
        stop = asyncio.Event()
        batch = dataclasses.replace(sms(*addresses), stop=stop)
        try:
            sending = asyncio.create_task(adapter.send(batch))
            while len(sim.app[SENT]) < 5:  # the first five are at the provider
                await bounded(asyncio.sleep(0.01))
            stop.set()
            results = await bounded(sending)
        finally:
            await adapter.close()
        received = [m.to for m in sim.app[SENT]]
    assert [r.delivery_id for r in results] == [100 + n for n in range(40)]
    accepted = [a for a, r in zip(addresses, results, strict=True) if r.outcome is Outcome.ACCEPTED]
    unsent = [r for r in results if r.outcome is Outcome.UNSENT]
    assert len(accepted) + len(unsent) == 40
    assert 5 <= len(accepted) < 40 and unsent
    assert sorted(received) == sorted(accepted)  # nothing unsent reached the provider


def _status_of(result: SendResult) -> int:
    if result.outcome is Outcome.ACCEPTED:
        return 201
    return {"20429": 429, "20500": 500}.get(result.code or "", 400)


# --- callbacks and replies: the simulator against ewb's webhooks ---------------------------


@dataclass
class World:
    """ewb and the simulator, each on its own port, on the test's database."""

    settings: Settings
    services: Services
    sim: web.Application
    sim_url: str
    app_url: str
    http: aiohttp.ClientSession

    def adapter(self) -> SmsAdapter:
        return SmsAdapter(providers.twilio(self.settings))


@pytest.fixture
async def world(settings: Settings, services: Services, clock: FakeClock) -> AsyncIterator[World]:
    app_sock, sim_sock = bound_socket(), bound_socket()
    app_url = f"http://127.0.0.1:{app_sock.getsockname()[1]}"
    both = load_settings(
        database_url=settings.database_url,
        var_dir=settings.var_dir,
        public_base_url=app_url,
        sim_twilio_port=sim_sock.getsockname()[1],
        webhook_grace_seconds=settings.webhook_grace_seconds,
    )
    sim = create_app(both)
    async with (
        serve(make_app(both, clock, scheduler=False), app_sock),
        serve(sim, sim_sock),
        aiohttp.ClientSession() as http,
    ):
        sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
        yield World(both, services, sim, sim_url, app_url, http)


async def add_delivery(services: Services, address: str, warning_id: int = 1) -> int:
    async with services.store.write() as tx:
        return await tx.deliveries.add(
            warning_id=warning_id,
            version=1,
            recipient_kind="resident",
            recipient_id=f"R{warning_id}-{address[-4:]}",
            channel="sms",
            address=address,
            now=NOW,
        )


async def record(services: Services, result: SendResult) -> None:
    async with services.store.write() as tx:
        await tx.deliveries.record_result(result, NOW)


async def history(services: Services, delivery_id: int) -> tuple[str, list[tuple[Any, ...]]]:
    async with services.store.read() as tx:
        delivery = await tx.deliveries.get(delivery_id)
        events = await tx.deliveries.events(delivery_id)
    assert delivery is not None
    return delivery.state, [(e.event, e.provider_code) for e in events]


async def event_count(services: Services) -> int:
    async with services.store.read() as tx:
        return int(
            (await tx.conn.execute(select(func.count()).select_from(delivery_events))).scalar_one()
        )


async def send_and_confirm(world: World, address: str, callbacks: int) -> tuple[int, str]:
    """Send one message through the adapter, store its result, then let the callbacks in."""
    delivery_id = await add_delivery(world.services, address)
    world.sim[CALLBACKS].hold()  # the result is stored before any callback can arrive
    adapter = world.adapter()
    try:
        [result] = await adapter.send(Batch("sms", (Message(delivery_id, address, "台风预警"),)))
    finally:
        await adapter.close()
    assert result.outcome is Outcome.ACCEPTED and result.provider_id
    await record(world.services, result)
    world.sim[CALLBACKS].release()
    await bounded(world.sim[CALLBACKS].wait_for(callbacks))
    await callbacks_applied(world.services)
    return delivery_id, result.provider_id


FATES = [
    # address, MessageStatus callbacks, the delivery's final state, its events after queued
    (
        PHONE,
        ["sent", "delivered"],
        "delivered",
        [("sent", None), ("sent", None), ("delivered", None)],
    ),
    (
        "+8613812340013",
        ["sent", "undelivered"],
        "failed",
        [("sent", None), ("sent", None), ("failed", "30003")],
    ),
    ("+8613812340014", ["failed"], "failed", [("sent", None), ("failed", "30008")]),
]


@pytest.mark.parametrize(
    ("address", "statuses", "state", "events"), FATES, ids=["delivered", "undelivered", "failed"]
)
async def test_signed_status_callbacks_move_the_delivery(
    world: World, address: str, statuses: list[str], state: str, events: list[Any]
) -> None:
    delivery_id, sid = await send_and_confirm(world, address, len(statuses))
    posted = world.sim[CALLBACKS].posted
    assert [(p.params["MessageSid"], p.params["MessageStatus"], p.answer) for p in posted] == [
        (sid, s, 200) for s in statuses
    ]
    assert posted[0].url == world.app_url + STATUS_PATH
    assert await history(world.services, delivery_id) == (state, [("queued", None), *events])


async def test_a_replayed_callback_is_stored_once(world: World) -> None:
    delivery_id, _ = await send_and_confirm(world, PHONE, 2)
    before = await history(world.services, delivery_id)
    for genuine in world.sim[CALLBACKS].posted:
        async with replay(world, genuine) as reply:
            assert reply.status == 200
    await callbacks_applied(world.services)
    assert await history(world.services, delivery_id) == before


def status_params(sid: str, status: str = "delivered") -> dict[str, str]:
    return {
        "AccountSid": providers.SANDBOX_TWILIO_SID,
        "ApiVersion": "2010-04-01",
        "From": providers.SANDBOX_TWILIO_FROM,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": PHONE,
    }


def signed(url: str, params: dict[str, str], token: str = providers.SANDBOX_TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(world: World, url: str, params: dict[str, str]) -> Any:
    """POST as Twilio does: the form, signed with the account's token."""
    headers = {"X-Twilio-Signature": signed(url, params)}
    return world.http.post(url, data=params, headers=headers)


def replay(world: World, posted: Posted) -> Any:
    """POST again exactly what the simulator posted (as Twilio may)."""
    headers = {"X-Twilio-Signature": posted.signature}
    return world.http.post(posted.url, data=posted.params, headers=headers)


SID = "SM" + "5" * 32
FORGERIES = {
    "missing": lambda url, params: None,
    "garbage": lambda url, params: "bm90IGEgc2lnbmF0dXJl",
    "wrong token": lambda url, params: signed(url, params, token="someone-else"),
    "another url": lambda url, params: signed("https://evil.example" + STATUS_PATH, params),
    "other params": lambda url, params: signed(url, {**params, "MessageStatus": "sent"}),
    "fewer params": lambda url, params: signed(url, {"MessageSid": SID}),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_status_callbacks_are_refused(world: World, forge: Any) -> None:
    delivery_id = await add_delivery(world.services, PHONE)
    await record(world.services, SendResult.accepted(delivery_id, SID))
    before, count = await history(world.services, delivery_id), await event_count(world.services)
    url = world.app_url + STATUS_PATH
    params = status_params(SID, "delivered")
    signature = forge(url, params)
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    async with world.http.post(url, data=params, headers=headers) as reply:
        assert reply.status == 403
        body = await reply.json()
    assert body["error"] == "forbidden" and body["message"]
    assert await history(world.services, delivery_id) == before
    assert await event_count(world.services) == count

    # The control: the same callback signed by the account's token is taken.
    async with post_signed(world, url, params) as reply:
        assert reply.status == 200
    await callbacks_applied(world.services)
    assert (await history(world.services, delivery_id))[0] == "delivered"


async def test_signatures_are_checked_against_the_public_url(
    settings: Settings, services: Services, clock: FakeClock
) -> None:
    """Behind a proxy the URL Twilio signed is the public one, not the one ewb sees."""
    public = "https://ewb.xiangshui.example"
    behind_proxy = load_settings(
        database_url=settings.database_url, var_dir=settings.var_dir, public_base_url=public
    )
    delivery_id = await add_delivery(services, PHONE)
    await record(services, SendResult.accepted(delivery_id, SID))
    sock = bound_socket()
    local = f"http://127.0.0.1:{sock.getsockname()[1]}"
    params = status_params(SID, "delivered")
    async with (
        serve(make_app(behind_proxy, clock, scheduler=False), sock),
        aiohttp.ClientSession() as http,
    ):
        for base, answer in ((local, 403), (public, 200)):
            headers = {"X-Twilio-Signature": signed(base + STATUS_PATH, params)}
            async with http.post(local + STATUS_PATH, data=params, headers=headers) as reply:
                assert reply.status == answer
        await callbacks_applied(services)
    assert (await history(services, delivery_id))[0] == "delivered"


async def test_an_unknown_message_sid_is_logged_and_ignored(
    world: World, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await add_delivery(world.services, PHONE)
    count = await event_count(world.services)
    url = world.app_url + STATUS_PATH
    params = status_params("SM" + "f" * 32, "undelivered") | {"ErrorCode": "30003"}
    with caplog.at_level(logging.INFO, logger="ewb.delivery.receipts"):
        async with post_signed(world, url, params) as reply:
            assert reply.status == 200
        assert await waiting(world.services) == 1  # kept for its send's result a while
        clock.now += timedelta(seconds=world.settings.callback_match_seconds + 1)
        await callbacks_applied(world.services)
    assert await event_count(world.services) == count
    assert await outcomes(world.services) == ["unknown"]
    assert "unknown MessageSid SM" + "f" * 32 in caplog.text
    assert PHONE not in caplog.text


async def waiting(services: Services) -> int:
    async with services.store.read() as tx:
        return await tx.callbacks.waiting()


async def outcomes(services: Services) -> list[str]:
    """What became of each stored callback, in arrival order."""
    async with services.store.read() as tx:
        rows = await tx.conn.execute(
            select(provider_callbacks.c.outcome).order_by(provider_callbacks.c.id)
        )
        return [r.outcome for r in rows]


async def test_a_callback_before_its_send_result_is_kept_until_the_result_is_stored(
    world: World,
) -> None:
    """A provider may call back before the batch that sent the message has stored its sid:
    the callback is answered once stored, and applied once the sid is known."""
    delivery_id = await add_delivery(world.services, PHONE)
    url = world.app_url + STATUS_PATH
    async with post_signed(world, url, status_params(SID, "delivered")) as reply:
        assert reply.status == 200
    await asyncio.sleep(world.settings.webhook_grace_seconds + 0.5)  # the old grace is over
    assert await waiting(world.services) == 1
    assert await history(world.services, delivery_id) == ("pending", [("queued", None)])

    await record(world.services, SendResult.accepted(delivery_id, SID))
    await callbacks_applied(world.services)
    assert await history(world.services, delivery_id) == (
        "delivered",
        [("queued", None), ("sent", None), ("delivered", None)],
    )
    assert await outcomes(world.services) == ["recorded"]


async def sent_sms(services: Services, count: int, prefix: str) -> dict[int, str]:
    """`count` deliveries sent (their sids stored): delivery id → MessageSid."""
    sids = {}
    for n in range(count):
        delivery_id = await add_delivery(services, f"{prefix}{n:05d}")
        sids[delivery_id] = f"SM{n:032x}"
        await record(services, SendResult.accepted(delivery_id, sids[delivery_id]))
    return sids


async def test_callbacks_arriving_together_are_each_recorded_once(world: World) -> None:
    """Many callbacks at once, each posted twice: every one answered 200 once stored, and
    every delivery moved by its own callback once (the replay is stored, then set aside)."""
    sids = await sent_sms(world.services, 60, "+86138123")
    url = world.app_url + STATUS_PATH

    async def post(sid: str) -> int:
        async with post_signed(world, url, status_params(sid, "delivered")) as reply:
            return reply.status

    answers = await bounded(asyncio.gather(*(post(sid) for sid in [*sids.values()] * 2)))
    assert answers == [200] * 120
    await callbacks_applied(world.services)
    for delivery_id in sids:
        state, events = await history(world.services, delivery_id)
        assert (state, events.count(("delivered", None))) == ("delivered", 1)
    assert sorted(await outcomes(world.services)) == ["recorded"] * 60 + ["replayed"] * 60


async def test_callbacks_are_stored_through_lost_database_connections(
    world: World, settings: Settings
) -> None:
    """PostgreSQL ends every connection of ewb's again and again while callbacks arrive:
    each is answered 200 (stored, the store tried again on a new connection), none is lost,
    and each delivery records its status once."""
    if settings.database_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no connections to lose")
    sids = await sent_sms(world.services, 40, "+86139123")
    url = world.app_url + STATUS_PATH
    database = world.services.store.engine.url.database
    killer = create_engine(settings.database_url)
    stop = asyncio.Event()
    ended = 0

    async def end_connections() -> None:
        nonlocal ended
        while not stop.is_set():
            async with killer.connect() as conn:
                found = await conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                )
                ended += int(found.scalar_one())
            await asyncio.sleep(0.01)

    async def post(sid: str) -> int:
        async with post_signed(world, url, status_params(sid, "delivered")) as reply:
            return reply.status

    ending = asyncio.create_task(end_connections())
    try:
        answers = []
        for sid in sids.values():  # one at a time: each meets a freshly ended connection
            answers.append(await bounded(post(sid)))
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await ending
        await killer.dispose()
    assert answers == [200] * len(sids)
    assert ended > 0  # connections were indeed ended under it
    await callbacks_applied(world.services)
    for delivery_id in sids:
        state, events = await history(world.services, delivery_id)
        assert (state, events.count(("delivered", None))) == ("delivered", 1)


# --- residents' replies --------------------------------------------------------------------


async def add_resident(services: Services, external_id: str, phone: str) -> int:
    resident = Resident(
        external_id=external_id,
        name="渔民",
        phone=phone,
        wechat_openid=None,
        locale="zh-CN",
        area_code=CHENJIAGANG_VILLAGE,
        groups=("fisherman",),
        channels=DEFAULT_ORDER,
        min_grade=Grade.BLUE,
        test_recipient=False,
    )
    async with services.store.write() as tx:
        resident_id = await tx.residents.add(resident, NOW)
    assert resident_id is not None
    return resident_id


async def opted_out(services: Services, *resident_ids: int) -> list[dict[str, Any]]:
    async with services.store.read() as tx:
        stored = [await tx.residents.get(i) for i in resident_ids]
    return [s.opted_out if s else {} for s in stored]


async def reply(world: World, sender: str, text: str) -> int:
    """A resident answers by SMS: the simulator posts Twilio's signed inbound webhook."""
    async with world.http.post(
        world.sim_url + "/sim/inbound", data={"From": sender, "Body": text}
    ) as answer:
        assert answer.status == 200
        return int((await answer.json())["answer"])


@pytest.mark.parametrize("word", ["TD", "STOP", "td", " 退订 "])
async def test_an_unsubscribe_reply_opts_out_everyone_on_that_number(
    world: World, word: str
) -> None:
    # A fishing family sharing one phone: both are registered with it.
    father = await add_resident(world.services, "F1", PHONE)
    mother = await add_resident(world.services, "F2", PHONE)
    neighbour = await add_resident(world.services, "N1", OTHER)
    assert await reply(world, PHONE, word) == 200
    assert await opted_out(world.services, father, mother, neighbour) == [
        {"sms": NOW},
        {"sms": NOW},
        {},
    ]


@pytest.mark.parametrize("word", ["1", "收到", "收到。"])
async def test_an_acknowledging_reply_marks_the_latest_sms_to_that_number(
    world: World, word: str
) -> None:
    older, newer, other = (
        await add_delivery(world.services, PHONE, warning_id=1),
        await add_delivery(world.services, PHONE, warning_id=2),
        await add_delivery(world.services, OTHER, warning_id=2),
    )
    for n, delivery_id in enumerate((older, newer, other)):
        await record(world.services, SendResult.accepted(delivery_id, f"SM{n:032d}"))
    count = await event_count(world.services)
    assert await reply(world, PHONE, word) == 200
    assert await event_count(world.services) == count + 1
    assert ("acknowledged", None) in (await history(world.services, newer))[1]

    # Twilio posting the same reply again acknowledges nothing twice.
    [genuine] = world.sim[CALLBACKS].posted
    async with replay(world, genuine) as answer:
        assert answer.status == 200
        assert answer.content_type == "text/xml"
        assert "<Response" in await answer.text()
    assert await event_count(world.services) == count + 1


async def test_free_text_and_strangers_change_nothing(world: World) -> None:
    resident = await add_resident(world.services, "F1", PHONE)
    delivery_id = await add_delivery(world.services, PHONE)
    await record(world.services, SendResult.accepted(delivery_id, "SM" + "1" * 32))
    count = await event_count(world.services)
    assert await reply(world, PHONE, "什么时候可以出海？") == 200
    assert await reply(world, OTHER, "TD") == 200  # nobody has this number
    assert await reply(world, OTHER, "收到") == 200  # nothing was sent to it
    assert await event_count(world.services) == count
    assert await opted_out(world.services, resident) == [{}]


async def test_a_forged_reply_is_refused(world: World) -> None:
    resident = await add_resident(world.services, "F1", PHONE)
    url = world.app_url + "/webhooks/twilio/inbound"
    params = {"From": PHONE, "Body": "TD", "MessageSid": "SM" + "2" * 32}
    forged = signed(world.app_url + STATUS_PATH, params)  # signed for the other webhook
    async with world.http.post(url, data=params, headers={"X-Twilio-Signature": forged}) as answer:
        assert answer.status == 403
    async with world.http.post(url, data=params) as answer:
        assert answer.status == 403
    assert await opted_out(world.services, resident) == [{}]
    async with post_signed(world, url, params) as answer:  # the control
        assert answer.status == 200
    assert await opted_out(world.services, resident) == [{"sms": NOW}]


async def test_a_callback_that_beats_the_stored_result_waits_for_it(world: World) -> None:
    """Twilio may call back before the batch has stored the send's result: not lost."""
    delivery_id = await add_delivery(world.services, PHONE)
    adapter = world.adapter()
    try:
        [result] = await adapter.send(Batch("sms", (Message(delivery_id, PHONE, "台风预警"),)))
    finally:
        await adapter.close()
    assert result.outcome is Outcome.ACCEPTED
    # The callbacks are already on their way; the result is stored only now.
    await asyncio.sleep(0.1)
    await record(world.services, result)
    await bounded(world.sim[CALLBACKS].wait_for(2))
    await callbacks_applied(world.services)
    state, events = await history(world.services, delivery_id)
    assert state == "delivered"
    assert events == [("queued", None), ("sent", None), ("sent", None), ("delivered", None)]


async def test_a_callback_for_a_resident_deleted_since_the_send_is_applied(world: World) -> None:
    """The resident's row is gone (erased since the send): the delivery still records its
    status, and the other callbacks of the same round are not held up."""
    async with world.services.store.write() as tx:
        gone = await tx.deliveries.add(
            warning_id=1,
            version=1,
            recipient_kind="resident",
            recipient_id="999999",  # a resident id with no row
            channel="sms",
            address=PHONE,
            now=NOW,
        )
    await record(world.services, SendResult.accepted(gone, SID))
    url = world.app_url + STATUS_PATH
    async with post_signed(world, url, status_params(SID, "delivered")) as reply:
        assert reply.status == 200
    await callbacks_applied(world.services)
    assert (await history(world.services, gone))[0] == "delivered"
