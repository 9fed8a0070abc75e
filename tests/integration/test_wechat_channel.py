"""WeChat and WeCom adapters against the simulator over real HTTP (no database needed).

Time is two fake clocks — the adapter's and the simulator's — moved by the tests, so token
expiry is driven without sleeping; moving only the simulator's makes WeChat expire a token
the adapter still believes fresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from channels.base import Alert, Batch, Message, Outcome, SendResult
from channels.wechat import WechatAdapter, WecomAdapter
from config import providers
from config.settings import Settings, load_settings
from sim.wechat import SIM, WechatSim, create_app
from tests.support import NOW

KINDS = ["wechat", "wecom"]
ALERT = Alert(
    warning_id=7,
    version=1,
    event_code="11B01",
    grade_rank=4,
    sender_name="响水县气象台",
    sender_code="320921",
    sent=NOW,
    start=NOW,
    end=NOW,
)
TITLE = "台风红色预警"
TEXT = "台风“海葵”将于今夜在陈家港登陆，渔船立即回港避风，沿海居民按指引转移。"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Whatever the environment says: sandbox credentials, and no faults unless a test asks.
PINNED = {
    "wechat_appid": "",
    "wechat_secret": "",
    "wecom_corpid": "",
    "wecom_secret": "",
    "sim_latency_ms": 0,
    "sim_rate_500": 0.0,
    "sim_rate_429": 0.0,
    "sim_invalid_share": 0.0,
}


def quiet_settings(**faults: Any) -> Settings:
    return load_settings(**{**PINNED, **faults})


@dataclass
class Rig:
    sim: WechatSim
    base_url: str
    session: aiohttp.ClientSession
    clock: FakeClock  # the adapters'
    sim_clock: FakeClock

    def adapter(self, kind: str, **options: Any) -> WechatAdapter | WecomAdapter:
        settings = quiet_settings()
        if kind == "wechat":
            wechat = dataclasses.replace(providers.wechat(settings), base_url=self.base_url)
            wechat = dataclasses.replace(wechat, **options.pop("config", {}))
            return WechatAdapter(wechat, self.session, clock=self.clock, **options)
        wecom = dataclasses.replace(providers.wecom(settings), base_url=self.base_url)
        wecom = dataclasses.replace(wecom, **options.pop("config", {}))
        return WecomAdapter(wecom, self.session, clock=self.clock, **options)

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        self.sim_clock.now += seconds


@asynccontextmanager
async def simulator(settings: Settings, **options: Any) -> AsyncIterator[Rig]:
    sim_clock = FakeClock()
    app = create_app(settings, clock=sim_clock, **options)
    # handler_cancellation: a request the adapter gave up on stops sleeping in the simulator.
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            yield Rig(app[SIM], f"http://{host}:{port}", session, FakeClock(), sim_clock)
    finally:
        await runner.cleanup()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with simulator(quiet_settings()) as running:
        yield running


def address(kind: str, i: int) -> str:
    return f"oEwbTestResident{i:012d}" if kind == "wechat" else f"officer_{i:04d}"


def batch(kind: str, addresses: list[str], text: str = TEXT, first_id: int = 1) -> Batch:
    messages = tuple(Message(first_id + i, a, text, TITLE) for i, a in enumerate(addresses))
    return Batch(kind, messages, alert=ALERT)


def people(kind: str, n: int, start: int = 0) -> Batch:
    return batch(kind, [address(kind, i) for i in range(start, start + n)], first_id=start + 1)


def outcomes(results: list[SendResult]) -> list[tuple[Outcome, str | None]]:
    return [(r.outcome, r.code) for r in results]


def token_errors(sim: WechatSim) -> list[int]:
    return [code for _, code in sim.answers if code in (40001, 40014, 42001)]


ACCEPTED = (Outcome.ACCEPTED, None)


async def test_template_message_carries_title_keywords_and_text(rig: Rig) -> None:
    results = await rig.adapter("wechat").send(people("wechat", 1))
    assert outcomes(results) == [ACCEPTED]
    [received] = rig.sim.received
    assert results[0].provider_id == received.msgid
    assert received.payload == {
        "touser": address("wechat", 0),
        "template_id": providers.SANDBOX_WECHAT_TEMPLATE,
        "data": {
            "first": {"value": TITLE},
            "keyword1": {"value": TITLE},
            "keyword2": {"value": "响水县气象台"},
            "keyword3": {"value": "2026-07-28 08:00"},
            "keyword4": {"value": TEXT},
        },
    }
    # What WeChat shows since May 2023: no "first" line, 20 characters of each keyword. The
    # title (hazard and grade) is seen whole; the text is not — see the report on `url`.
    assert received.shown == {
        "keyword1": TITLE,
        "keyword2": "响水县气象台",
        "keyword3": "2026-07-28 08:00",
        "keyword4": TEXT[:19] + "…",
    }


async def test_wecom_officers_with_the_same_text_share_one_call(rig: Rig) -> None:
    results = await rig.adapter("wecom").send(people("wecom", 3))
    assert outcomes(results) == [ACCEPTED] * 3
    assert rig.sim.send_requests["wecom"] == 1
    assert [r.to for r in rig.sim.received] == [address("wecom", i) for i in range(3)]
    msgid = rig.sim.received[0].msgid
    assert [r.provider_id for r in results] == [msgid] * 3
    assert rig.sim.received[0].payload == {
        "touser": "officer_0000|officer_0001|officer_0002",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": f"{TITLE}\n{TEXT}"},
    }


@pytest.mark.parametrize("kind", KINDS)
async def test_token_is_fetched_once_and_reused(rig: Rig, kind: str) -> None:
    adapter = rig.adapter(kind)
    for start in (0, 4, 8):
        results = await adapter.send(people(kind, 4, start))
        assert outcomes(results) == [ACCEPTED] * 4
    assert len(rig.sim.received) == 12
    assert rig.sim.token_requests[kind] == 1
    assert adapter.tokens.fetches == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_token_is_refreshed_shortly_before_it_expires(rig: Rig, kind: str) -> None:
    adapter = rig.adapter(kind)
    await adapter.send(people(kind, 1))
    rig.advance(7200 - 300 - 1)
    await adapter.send(people(kind, 1, 1))
    assert rig.sim.token_requests[kind] == 1
    rig.advance(2)
    results = await adapter.send(people(kind, 1, 2))
    assert outcomes(results) == [ACCEPTED]
    assert rig.sim.token_requests[kind] == 2
    assert token_errors(rig.sim) == []  # refreshed ahead of time, never refused


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cause", ["invalidated", "expired"])
async def test_refused_token_is_refreshed_once_and_the_message_retried(
    rig: Rig, kind: str, cause: str
) -> None:
    adapter = rig.adapter(kind)
    await adapter.send(people(kind, 1))
    if cause == "invalidated":
        rig.sim.invalidate_tokens()
        expected = 40001 if kind == "wechat" else 40014
    else:
        rig.sim_clock.now += 7201  # WeChat's clock only: the adapter thinks the token fresh
        expected = 42001
    results = await adapter.send(people(kind, 3, 1))
    assert outcomes(results) == [ACCEPTED] * 3
    assert rig.sim.token_requests[kind] == 2
    assert set(token_errors(rig.sim)) == {expected}
    assert sorted(r.to for r in rig.sim.received) == [address(kind, i) for i in range(4)]


@pytest.mark.parametrize("kind", KINDS)
async def test_token_refused_again_after_refresh_is_retryable(rig: Rig, kind: str) -> None:
    adapter = rig.adapter(kind)
    rig.sim.reject_tokens = True
    results = await adapter.send(people(kind, 5))
    assert outcomes(results) == [(Outcome.RETRYABLE, "token_rejected")] * 5
    assert rig.sim.token_requests[kind] == 2  # one refresh, not one per message
    rig.advance(59)  # and none for a while: WeChat allows 2,000 token fetches a day
    results = await adapter.send(people(kind, 2, 5))
    assert outcomes(results) == [(Outcome.RETRYABLE, "token_rejected")] * 2
    assert results[0].retry_after is not None and 0 < results[0].retry_after <= 1
    assert rig.sim.token_requests[kind] == 2
    assert rig.sim.received == []
    rig.sim.reject_tokens = False
    rig.advance(2)
    assert outcomes(await adapter.send(people(kind, 1))) == [ACCEPTED]
    assert rig.sim.token_requests[kind] == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_a_late_refusal_of_an_old_token_keeps_the_new_one(rig: Rig, kind: str) -> None:
    tokens = rig.adapter(kind).tokens
    old = await tokens.get()
    tokens.invalidate(old)
    new = await tokens.get()
    tokens.invalidate(old)  # a request that was still in flight with the old token
    assert await tokens.get() == new != old
    assert rig.sim.token_requests[kind] == 2


# A wrong secret is the operator's fault, not the resident's: retryable with a clear code,
# so no one is recorded as unreachable while the settings are being fixed.
@pytest.mark.parametrize(
    ("kind", "config", "errcode"),
    [
        ("wechat", {"secret": "wrong"}, 40001),
        ("wechat", {"appid": "wxwrong"}, 40013),
        ("wecom", {"secret": "wrong"}, 40001),
        ("wecom", {"corpid": "wwwrong"}, 40013),
    ],
)
async def test_wrong_credentials_make_every_message_retryable(
    rig: Rig, kind: str, config: dict[str, str], errcode: int
) -> None:
    adapter = rig.adapter(kind, config=config)
    results = await adapter.send(people(kind, 4))
    assert outcomes(results) == [(Outcome.RETRYABLE, "credentials_rejected")] * 4
    assert all(f"errcode {errcode}" in (r.detail or "") for r in results)
    assert all(r.retry_after == 60 for r in results)
    assert rig.sim.token_requests[kind] == 1  # the failure is held, not refetched per message
    assert rig.sim.send_requests[kind] == 0
    rig.advance(59)
    await adapter.send(people(kind, 1))
    assert rig.sim.token_requests[kind] == 1
    rig.advance(2)
    await adapter.send(people(kind, 1))
    assert rig.sim.token_requests[kind] == 2


async def test_unfollowed_and_invalid_openids_are_permanent_the_rest_accepted(rig: Rig) -> None:
    openids = [address("wechat", i) for i in range(4)]
    rig.sim.unsubscribed.add(openids[1])
    rig.sim.invalid.add(openids[3])
    results = await rig.adapter("wechat").send(batch("wechat", openids))
    assert outcomes(results) == [
        ACCEPTED,
        (Outcome.PERMANENT, "43004"),
        ACCEPTED,
        (Outcome.PERMANENT, "40003"),
    ]
    assert [r.delivery_id for r in results] == [1, 2, 3, 4]
    assert [r.to for r in rig.sim.received] == [openids[0], openids[2]]


async def test_wecom_invaliduser_is_mapped_back_to_each_officer(rig: Rig) -> None:
    officers = ["Alice.W", "bob", "Ghost", "carol", "GONE"]
    rig.sim.invalid.update({"ghost", "gone"})  # WeCom answers them lower-cased
    results = await rig.adapter("wecom").send(batch("wecom", officers))
    assert outcomes(results) == [
        ACCEPTED,
        ACCEPTED,
        (Outcome.PERMANENT, "invaliduser"),
        ACCEPTED,
        (Outcome.PERMANENT, "invaliduser"),
    ]
    msgid = results[0].provider_id
    assert msgid and [r.provider_id for r in results] == [msgid, msgid, None, msgid, None]
    assert [r.to for r in rig.sim.received] == ["Alice.W", "bob", "carol"]


async def test_wecom_call_with_only_invalid_officers_is_permanent_for_all(rig: Rig) -> None:
    rig.sim.invalid.update({"ghost", "gone"})
    results = await rig.adapter("wecom").send(batch("wecom", ["ghost", "Gone"]))
    assert outcomes(results) == [(Outcome.PERMANENT, "81013")] * 2


async def test_wecom_splits_calls_at_1000_users_repeats_and_different_texts(rig: Rig) -> None:
    officers = [address("wecom", i) for i in range(2001)]
    officers.insert(1, "OFFICER_0000")  # the same user again (userids ignore case)
    messages = (*batch("wecom", officers).messages, Message(9999, "officer_0001", "演练"))
    results = await rig.adapter("wecom").send(Batch("wecom", messages))
    assert outcomes(results) == [ACCEPTED] * 2003
    assert [r.delivery_id for r in results] == [m.delivery_id for m in messages]
    # 1,000 + 1,000 (the repeat opens the second call) + 2 + one for the other text
    assert rig.sim.send_requests["wecom"] == 4
    assert len(rig.sim.received) == 2003


@pytest.mark.parametrize("kind", KINDS)
async def test_refused_before_sending_too_long_or_bad_address(rig: Rig, kind: str) -> None:
    long_text = "风" * (201 if kind == "wechat" else 700)  # 700 × 3 bytes > 2048
    bad = ["", " "] if kind == "wechat" else ["a|@all", "@all"]
    messages = (
        Message(1, address(kind, 0), long_text),
        Message(2, bad[0], TEXT),
        Message(3, address(kind, 1), TEXT),
        Message(4, bad[1], TEXT),
    )
    results = await rig.adapter(kind).send(Batch(kind, messages))
    refused = (Outcome.PERMANENT, "invalid_address")
    assert outcomes(results) == [(Outcome.PERMANENT, "too_long"), refused, ACCEPTED, refused]
    assert [r.to for r in rig.sim.received] == [address(kind, 1)]


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limit_is_retryable_until_the_next_second(kind: str) -> None:
    async with simulator(quiet_settings(), rate_per_second=2) as rig:
        adapter = rig.adapter(kind, concurrency=1) if kind == "wechat" else rig.adapter(kind)
        # Different texts: WeCom needs one call per officer here.
        messages = tuple(Message(i + 1, address(kind, i), f"{TEXT}{i}") for i in range(4))
        results = await adapter.send(Batch(kind, messages))
        limited = (Outcome.RETRYABLE, "45009")
        assert outcomes(results) == [ACCEPTED, ACCEPTED, limited, limited]
        assert [r.retry_after for r in results[2:]] == [60, 60]
        rig.advance(1)
        assert outcomes(await adapter.send(Batch(kind, messages[2:]))) == [ACCEPTED] * 2


@pytest.mark.parametrize("kind", KINDS)
async def test_server_errors_and_timeouts_are_retryable(rig: Rig, kind: str) -> None:
    adapter = rig.adapter(kind, timeout=0.25)
    await adapter.send(people(kind, 1))  # the token is cached
    rig.sim.rate_500 = 1.0
    results = await adapter.send(people(kind, 2, 1))
    assert outcomes(results) == [(Outcome.RETRYABLE, "http_500")] * 2
    rig.sim.rate_500, rig.sim.latency_ms = 0.0, 1000
    results = await adapter.send(people(kind, 2, 3))
    assert outcomes(results) == [(Outcome.RETRYABLE, "timeout")] * 2
    assert rig.sim.token_requests[kind] == 1


async def test_a_stopped_batch_starts_no_more_template_messages(rig: Rig) -> None:
    """Stopped while it is sent (its batch yields to urgent work): the template messages
    already sent finish, the others are `unsent` and never reach WeChat."""
    adapter = rig.adapter("wechat", concurrency=4)
    await adapter.send(people("wechat", 1))  # the token is cached
    rig.sim.latency_ms = 300
    stop = asyncio.Event()
    sending = asyncio.create_task(
        adapter.send(dataclasses.replace(people("wechat", 30, 1), stop=stop))
    )
    while sum(1 for api, _ in rig.sim.answers if api == "wechat") < 1 + 4:
        await asyncio.wait_for(asyncio.sleep(0.01), 60)
    stop.set()
    results = await asyncio.wait_for(sending, 60)
    assert [r.delivery_id for r in results] == list(range(2, 32))
    accepted = [
        address("wechat", r.delivery_id - 1) for r in results if r.outcome is Outcome.ACCEPTED
    ]
    unsent = [r for r in results if r.outcome is Outcome.UNSENT]
    assert len(accepted) + len(unsent) == 30 and 4 <= len(accepted) < 30
    got = [m.to for m in rig.sim.received][1:]  # after the first resident's
    assert sorted(got) == sorted(accepted)


@pytest.mark.parametrize("kind", KINDS)
async def test_unreachable_provider_is_retryable(rig: Rig, kind: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    adapter = rig.adapter(kind, config={"base_url": f"http://127.0.0.1:{port}"})
    results = await adapter.send(people(kind, 2))
    assert outcomes(results) == [(Outcome.RETRYABLE, "network")] * 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"sim_rate_500": 1.0}, (Outcome.RETRYABLE, "http_500")),
        ({"sim_latency_ms": 1000}, (Outcome.RETRYABLE, "timeout")),
        ({"sim_rate_429": 1.0}, (Outcome.RETRYABLE, "45009")),
    ],
)
async def test_simulator_honours_the_fault_settings(
    kind: str, faults: dict[str, float], expected: tuple[Outcome, str]
) -> None:
    async with simulator(quiet_settings(**faults)) as rig:
        results = await rig.adapter(kind, timeout=0.25).send(people(kind, 3))
        assert outcomes(results) == [expected] * 3


async def test_invalid_share_marks_the_same_addresses_invalid_every_time() -> None:
    async with simulator(quiet_settings(sim_invalid_share=0.5), seed=3) as rig:
        adapter = rig.adapter("wechat")
        first = outcomes(await adapter.send(people("wechat", 40)))
        again = outcomes(await adapter.send(people("wechat", 40)))
        assert first == again
        assert 5 < first.count((Outcome.PERMANENT, "40003")) < 35


async def test_wecom_agentid_must_be_numeric(rig: Rig) -> None:
    with pytest.raises(ValueError, match="AgentId"):
        rig.adapter("wecom", config={"agentid": "app"})
