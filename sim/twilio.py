"""A local Twilio: the Messages API answered as Twilio does, with signed status callbacks.

`POST /2010-04-01/Accounts/{sid}/Messages.json` takes the sandbox credentials (Basic auth)
and answers 201 with a queued message, then posts the StatusCallback (`sent`, then
`delivered`, `undelivered` or `failed`) signed with `X-Twilio-Signature`. Which answer a
number gets is decided by the number, so a retry gets the same answer:

- Twilio's own magic test numbers: +15005550001 invalid (21211), +15005550002 unroutable
  (21612), +15005550003 region not permitted (21408), +15005550004 unsubscribed (21610),
  +15005550009 not a mobile (21614);
- numbers ending in 0000 unsubscribed (21610); a share `sim_invalid_share` of all numbers
  invalid (21211);
- accepted numbers ending in 13 end `undelivered` (30003), ending in 14 `failed` (30008);
- and, as an edge in front of Twilio might answer: +15005550429 a bare 429, +15005550503
  an HTML 503.

Fault injection from the settings: `sim_latency_ms` before every answer, shares
`sim_rate_429` (Twilio's 429, code 20429) and `sim_rate_500` of requests, drawn from a
seeded generator. `POST /sim/inbound` (form From, Body) plays a resident replying: the
simulator posts a signed inbound-SMS webhook to ewb.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from config.providers import Twilio, twilio, webhook_url
from config.settings import Settings

API_VERSION = "2010-04-01"
INBOUND_PATH = "/webhooks/twilio/inbound"
MAGIC_ERRORS = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for {to}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
# What an edge or proxy in front of Twilio may answer: no Twilio error body.
EDGE_ANSWERS = {
    "+15005550429": (429, "Too Many Requests", "text/plain"),
    "+15005550503": (503, "<h1>Service Unavailable</h1>", "text/html"),
}
_E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Received:
    """One authenticated message request and what the simulator answered (accepted or not)."""

    to: str
    from_: str
    body: str
    status_callback: str | None
    answer: int  # the HTTP status it answered
    code: int | None = None  # Twilio's error code, when refused
    sid: str | None = None  # the message sid, when accepted


@dataclass(frozen=True)
class Posted:
    """One webhook the simulator posted to ewb: a status callback or an inbound SMS."""

    kind: str  # "status" or "inbound"
    url: str
    params: dict[str, str]
    signature: str
    answer: int  # ewb's HTTP status; 0 when ewb could not be reached


@dataclass
class Callbacks:
    """The webhooks posted so far; tests may hold them back and wait for them."""

    posted: list[Posted] = field(default_factory=list)
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self._open.set()

    def hold(self) -> None:
        """Keep status callbacks back until `release` (e.g. until a result is stored)."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def released(self) -> None:
        """Return once callbacks are not held back."""
        await self._open.wait()

    async def wait_for(self, count: int) -> list[Posted]:
        """Wait until at least `count` webhooks have been posted and answered."""
        return await self.wait_until(lambda posted: len(posted) >= count)

    async def wait_until(self, done: Callable[[list[Posted]], bool]) -> list[Posted]:
        """Wait until the webhooks posted so far satisfy `done`."""
        async with self._changed:
            await self._changed.wait_for(lambda: done(self.posted))
            return list(self.posted)

    async def add(self, posted: Posted) -> None:
        async with self._changed:
            self.posted.append(posted)
            self._changed.notify_all()


@dataclass
class _State:
    config: Twilio
    settings: Settings
    rng: random.Random
    seed: int
    callback_delay: float
    session: aiohttp.ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    count: int = 0


@dataclass
class Faults:
    """Fault injection, starting from the settings; tests change it while running."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0


SENT = web.AppKey("sent", list[Received])
FAULTS = web.AppKey("faults", Faults)
CALLBACKS = web.AppKey("callbacks", Callbacks)
_STATE = web.AppKey("state", _State)


def create_app(
    settings: Settings, *, seed: int = 0, callback_delay: float = 0.05
) -> web.Application:
    """The simulator; credentials, callback URLs and faults come from `settings`."""
    app = web.Application()
    app[_STATE] = _State(twilio(settings), settings, random.Random(seed), seed, callback_delay)
    app[SENT] = []
    app[FAULTS] = Faults(settings.sim_latency_ms, settings.sim_rate_429, settings.sim_rate_500)
    app[CALLBACKS] = Callbacks()
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", _create_message)
    app.router.add_post("/sim/inbound", _inbound)
    return app


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[_STATE]
    # Twilio gives a webhook 15 s to answer.
    state.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    yield
    for task in list(state.tasks):
        task.cancel()
    await asyncio.gather(*state.tasks, return_exceptions=True)
    await state.session.close()


def _error(status: int, code: int, message: str) -> web.Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    return web.json_response(body, status=status)


def _share(number: str, salt: str) -> float:
    """A fraction in [0, 1) fixed by the number: the same number always gets the same."""
    digest = hashlib.sha256(f"{salt}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _refusal(to: str, body: str, settings: Settings) -> tuple[int, str] | None:
    """The error code and message this number gets, if Twilio would refuse it."""
    if not to:
        return 21604, "A 'To' phone number is required."
    if to in MAGIC_ERRORS:
        code, text = MAGIC_ERRORS[to]
        return code, text.format(to=to)
    if not _E164.fullmatch(to) or _share(to, "invalid") < settings.sim_invalid_share:
        return 21211, f"The 'To' number {to} is not a valid phone number."
    if to.endswith("0000"):
        return 21610, "Attempt to send to unsubscribed recipient"
    if len(body) > 1600:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    return None


def delivers(to: str, settings: Settings) -> bool:
    """Whether a message to `to` would be accepted and end `delivered` (tests count what
    residents got by the simulator's own rules)."""
    return (
        _refusal(to, "", settings) is None
        and to not in EDGE_ANSWERS
        and _fate(to)[-1][0] == "delivered"
    )


def _authorised(request: web.Request, config: Twilio) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # not base64, or not UTF-8
        return False
    return hmac.compare_digest(f"{login}:{password}", f"{config.account_sid}:{config.auth_token}")


async def _create_message(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    settings, config, faults = state.settings, state.config, request.app[FAULTS]
    form = await request.post()
    # The request is in: like Twilio, the message goes out even if the client is gone
    # before the answer comes back (what a worker killed mid-send leaves behind).
    await asyncio.sleep(faults.latency_ms / 1000)
    if not _authorised(request, config):
        return _error(401, 20003, "Authenticate")
    if request.match_info["sid"] != config.account_sid:
        return _error(404, 20404, "The requested resource was not found")
    to, from_, body = (str(form.get(name, "")) for name in ("To", "From", "Body"))
    callback = str(form["StatusCallback"]) if "StatusCallback" in form else None
    sent = request.app[SENT]
    if to in EDGE_ANSWERS:
        status, text, content_type = EDGE_ANSWERS[to]
        sent.append(Received(to, from_, body, callback, status))
        return web.Response(status=status, text=text, content_type=content_type)
    if state.rng.random() < faults.rate_429:
        sent.append(Received(to, from_, body, callback, 429, 20429))
        return _error(429, 20429, "Too Many Requests")
    if state.rng.random() < faults.rate_500:
        sent.append(Received(to, from_, body, callback, 500, 20500))
        return _error(500, 20500, "An internal server error has occurred")
    refusal = _refusal(to, body, settings)
    if refusal is not None:
        code, text = refusal
        sent.append(Received(to, from_, body, callback, 400, code))
        return _error(400, code, text)
    state.count += 1
    sid = "SM" + hashlib.sha256(f"{state.seed}:{state.count}".encode()).hexdigest()[:32]
    sent.append(Received(to, from_, body, callback, 201, sid=sid))
    if callback:
        _spawn(state, _status_callbacks(request.app, sid, to, from_, callback))
    return web.json_response(_message(config, sid, to, from_, body), status=201)


def _message(config: Twilio, sid: str, to: str, from_: str, body: str) -> dict[str, Any]:
    now = format_datetime(datetime.now(UTC))
    uri = f"/{API_VERSION}/Accounts/{config.account_sid}/Messages/{sid}"
    return {
        "account_sid": config.account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": to,
        "uri": f"{uri}.json",
    }


def _fate(to: str) -> list[tuple[str, str | None]]:
    """The statuses an accepted message goes through, with their error codes."""
    if to.endswith("13"):
        return [("sent", None), ("undelivered", "30003")]
    if to.endswith("14"):
        return [("failed", "30008")]
    return [("sent", None), ("delivered", None)]


async def settled(app: web.Application) -> None:
    """Return once every status callback the simulator has to post is posted and answered
    (tests: a late "undelivered" changes a delivery after the runner has drained)."""
    state = app[_STATE]
    while state.tasks:
        await asyncio.gather(*list(state.tasks), return_exceptions=True)


def _spawn(state: _State, coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)


async def _status_callbacks(app: web.Application, sid: str, to: str, from_: str, url: str) -> None:
    state, callbacks = app[_STATE], app[CALLBACKS]
    await callbacks.released()
    await asyncio.sleep(state.callback_delay)
    for status, error_code in _fate(to):
        params = {
            "AccountSid": state.config.account_sid,
            "ApiVersion": API_VERSION,
            "From": from_,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": to,
        }
        if error_code:
            params["ErrorCode"] = error_code
        await callbacks.add(await _post(state, "status", url, params))


async def _post(state: _State, kind: str, url: str, params: dict[str, str]) -> Posted:
    """Post a webhook signed as Twilio signs it: HMAC-SHA1 of URL and sorted params."""
    signature = RequestValidator(state.config.auth_token).compute_signature(url, params)
    assert state.session is not None
    try:
        async with state.session.post(
            url, data=params, headers={"X-Twilio-Signature": signature}
        ) as reply:
            await reply.read()
            answer = reply.status
    except (aiohttp.ClientError, TimeoutError):
        answer = 0  # Twilio does not retry a status callback either
    return Posted(kind, url, params, signature, answer)


async def _inbound(request: web.Request) -> web.Response:
    """A resident's reply: posted to ewb's inbound webhook as Twilio would."""
    state = request.app[_STATE]
    form = await request.post()
    state.count += 1
    sid = "SM" + hashlib.sha256(f"{state.seed}:in:{state.count}".encode()).hexdigest()[:32]
    params = {
        "AccountSid": state.config.account_sid,
        "ApiVersion": API_VERSION,
        "Body": str(form.get("Body", "")),
        "From": str(form.get("From", "")),
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": str(form.get("To", state.config.from_number)),
    }
    posted = await _post(state, "inbound", webhook_url(state.settings, INBOUND_PATH), params)
    await request.app[CALLBACKS].add(posted)
    return web.json_response({"message_sid": sid, "answer": posted.answer})
