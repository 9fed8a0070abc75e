"""A local WeChat Official Account + WeCom API: tokens, template messages, app messages.

Both APIs under their real paths, with the real errcodes (always HTTP 200 with an errcode,
as WeChat answers), for the sandbox credentials of config.providers only:

- GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=   (Official Account)
- POST /cgi-bin/message/template/send?access_token=
- GET  /cgi-bin/gettoken?corpid=&corpsecret=                          (WeCom)
- POST /cgi-bin/message/send?access_token=

Tokens expire after `expires_in` seconds of the injected clock and, unlike the real Official
Account's, stay valid when a newer one is fetched; `WechatSim.invalidate_tokens` makes them
all invalid at once (what a second system fetching tokens with the same appid does).
Fault injection from the settings: `sim_latency_ms` delays every answer, `sim_rate_500`
answers HTTP 500, `sim_rate_429` answers WeChat's rate-limit errcode (WeChat never sends
HTTP 429), `sim_invalid_share` makes that share of addresses invalid (the same ones every
time, by a hash of seed and address). Tests read and steer `app[SIM]`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from config.providers import (
    SANDBOX_WECHAT_APPID,
    SANDBOX_WECHAT_SECRET,
    SANDBOX_WECHAT_TEMPLATE,
    SANDBOX_WECOM_AGENTID,
    SANDBOX_WECOM_CORPID,
    SANDBOX_WECOM_SECRET,
)
from config.settings import Settings

# A per-second overrun of either API is answered 45009 ("api freq out of limit"), which is
# what both the Official Account and WeCom send for call frequency. WeCom's 45033 is about
# concurrent calls and the Official Account's 45047 about one user's message count; neither
# is a per-second limit, so the simulator does not use them (the adapter handles all three).
RATE_LIMITED = 45009
TEMPLATE_VALUE_MAX = 200  # characters per template value
# Since 2023-05-04 WeChat drops "first" and "remark", shows 20 characters of a keyword value
# (the rest becomes "…", errcode still 0) and nothing after a line break.
TEMPLATE_SHOWN_MAX = 20
HIDDEN_FIELDS = ("first", "remark")
WECOM_CONTENT_MAX = 2048  # bytes of text.content
WECOM_MAX_USERS = 1000

Json = dict[str, Any]


@dataclass(frozen=True)
class Received:
    """One message the simulator accepted for one recipient."""

    api: str  # "wechat" (template message) or "wecom"
    to: str
    payload: Json
    msgid: str
    shown: dict[str, str] = field(default_factory=dict)  # template values as residents see them


@dataclass
class WechatSim:
    """The simulator's state: what tests inspect and steer."""

    clock: Callable[[], float]
    expires_in: int = 7200
    rate_per_second: int | None = None  # per API; None: unlimited
    latency_ms: float = 0.0
    rate_500: float = 0.0
    rate_limited_share: float = 0.0
    invalid_share: float = 0.0
    unsubscribed: set[str] = field(default_factory=set)  # openids → 43004
    invalid: set[str] = field(default_factory=set)  # openids → 40003, WeCom users → invaliduser
    reject_tokens: bool = False  # every send answers with an invalid-token errcode
    received: list[Received] = field(default_factory=list)
    token_requests: Counter[str] = field(default_factory=Counter)
    send_requests: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (api, errcode) of sends
    seed: int = 0
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token: (api, expiry)
    _windows: dict[str, tuple[int, int]] = field(default_factory=dict)  # api: (second, count)
    _msgids: int = 2_000_000_000

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def invalidate_tokens(self) -> None:
        """Every token issued so far becomes invalid (40001 / 40014 on the next send)."""
        self._tokens.clear()

    def is_invalid(self, address: str) -> bool:
        if address.lower() in {a.lower() for a in self.invalid}:
            return True
        digest = hashlib.sha256(f"{self.seed}:{address.lower()}".encode()).digest()
        return int.from_bytes(digest[:8]) / 2**64 < self.invalid_share

    def accepts(self, openid: str) -> bool:
        """Whether a template message to `openid` would be accepted (not 40003 or 43004)."""
        return not self.is_invalid(openid) and openid not in self.unsubscribed

    def issue_token(self, api: str) -> str:
        token = "".join(self.rng.choices(string.ascii_letters + string.digits + "_-", k=136))
        self._tokens[token] = (api, self.clock() + self.expires_in)
        return token

    def token_error(self, api: str, token: str) -> int:
        """0 if `token` is good for `api`, else the errcode the API answers."""
        invalid = 40001 if api == "wechat" else 40014
        if not token:
            return 41001
        if self.reject_tokens or token not in self._tokens or self._tokens[token][0] != api:
            return invalid
        return 42001 if self.clock() >= self._tokens[token][1] else 0

    def over_rate(self, api: str) -> bool:
        if self.rate_limited_share and self.rng.random() < self.rate_limited_share:
            return True
        if self.rate_per_second is None:
            return False
        second = int(self.clock())
        window, count = self._windows.get(api, (second, 0))
        count = count + 1 if window == second else 1
        self._windows[api] = (second, count)
        return count > self.rate_per_second

    def next_msgid(self, api: str) -> str:
        self._msgids += 1
        if api == "wechat":
            return str(self._msgids)  # the Official Account's msgid is a number
        # WeCom's is an opaque string of about 86 characters.
        return "".join(self.rng.choices(string.ascii_letters + string.digits + "_-", k=86))


SIM = web.AppKey("wechat_sim", WechatSim)


def _answer(errcode: int, errmsg: str, **extra: Any) -> Json:
    return {"errcode": errcode, "errmsg": errmsg, **extra}


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[SIM]
    if sim.latency_ms:
        await asyncio.sleep(sim.latency_ms / 1000)
    if sim.rate_500 and sim.rng.random() < sim.rate_500:
        return web.Response(status=500, text="simulated server error")
    return await handler(request)


async def _token(request: web.Request) -> web.Response:
    sim, query = request.app[SIM], request.query
    sim.token_requests["wechat"] += 1
    if query.get("grant_type") != "client_credential":
        return web.json_response(_answer(40002, "invalid grant_type"))
    if query.get("appid") != SANDBOX_WECHAT_APPID:
        return web.json_response(_answer(40013, "invalid appid"))
    if query.get("secret") != SANDBOX_WECHAT_SECRET:
        return web.json_response(
            _answer(40001, "invalid credential, access_token is invalid or not latest")
        )
    # The Official Account omits errcode on success.
    return web.json_response(
        {"access_token": sim.issue_token("wechat"), "expires_in": sim.expires_in}
    )


async def _gettoken(request: web.Request) -> web.Response:
    sim, query = request.app[SIM], request.query
    sim.token_requests["wecom"] += 1
    if query.get("corpid") != SANDBOX_WECOM_CORPID:
        return web.json_response(_answer(40013, "invalid corpid"))
    if query.get("corpsecret") != SANDBOX_WECOM_SECRET:
        return web.json_response(_answer(40001, "invalid credential"))
    token = sim.issue_token("wecom")
    return web.json_response(_answer(0, "ok", access_token=token, expires_in=sim.expires_in))


async def _body(request: web.Request) -> Json | None:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _checked(sim: WechatSim, api: str, request: web.Request) -> Json | None:
    """The answer to a send that fails on its token or the rate limit, else None."""
    sim.send_requests[api] += 1
    code = sim.token_error(api, request.query.get("access_token", ""))
    messages = {
        41001: "access_token missing",
        40001: "invalid credential, access_token is invalid or not latest",
        40014: "invalid access_token",
        42001: "access_token expired",
    }
    if code:
        return _answer(code, messages[code])
    if sim.over_rate(api):
        return _answer(RATE_LIMITED, "api freq out of limit")
    return None


def _logged(sim: WechatSim, api: str, answer: Json) -> web.Response:
    sim.answers.append((api, answer["errcode"]))
    return web.json_response(answer)


async def _template_send(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return _logged(sim, "wechat", _checked(sim, "wechat", request) or await _template(request))


async def _template(request: web.Request) -> Json:
    sim, body = request.app[SIM], await _body(request)
    if body is None:
        return _answer(47001, "data format error")
    if body.get("template_id") != SANDBOX_WECHAT_TEMPLATE:
        return _answer(40037, "invalid template_id")
    data = body.get("data")
    if not isinstance(data, dict):
        return _answer(47001, "data format error")
    for name, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or len(value) > TEMPLATE_VALUE_MAX:
            return _answer(47003, f"argument invalid! data.{name}.value invalid")
    openid = body.get("touser")
    if not isinstance(openid, str) or not openid or sim.is_invalid(openid):
        return _answer(40003, "invalid openid")
    if openid in sim.unsubscribed:
        return _answer(43004, "require subscribe")
    msgid = sim.next_msgid("wechat")
    sim.received.append(Received("wechat", openid, body, msgid, _shown(data)))
    return _answer(0, "ok", msgid=int(msgid))


def _shown(data: dict[str, Any]) -> dict[str, str]:
    shown = {}
    for name, item in data.items():
        if name not in HIDDEN_FIELDS:
            line = item["value"].split("\n", 1)[0]
            cut = len(line) > TEMPLATE_SHOWN_MAX
            shown[name] = line[: TEMPLATE_SHOWN_MAX - 1] + "…" if cut else line
    return shown


async def _app_send(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return _logged(sim, "wecom", _checked(sim, "wecom", request) or await _wecom(request))


async def _wecom(request: web.Request) -> Json:
    sim, body = request.app[SIM], await _body(request)
    if body is None:
        return _answer(40058, "invalid json")
    if body.get("msgtype") != "text":
        return _answer(40008, "invalid message type")
    if body.get("agentid") != int(SANDBOX_WECOM_AGENTID):
        return _answer(40056, "invalid agentid")
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str) or not content:
        return _answer(44004, "empty content")
    if len(content.encode()) > WECOM_CONTENT_MAX:
        return _answer(45002, "content size out of limit")
    users = [u for u in str(body.get("touser", "")).split("|") if u]
    if len(users) > WECOM_MAX_USERS:
        return _answer(40058, "touser exceeds 1000 users")
    # WeCom reports invalid userids lower-cased.
    invalid = [u.lower() for u in users if sim.is_invalid(u)]
    if len(invalid) == len(users):
        return _answer(81013, "user & party & tag all invalid", invaliduser="|".join(invalid))
    msgid = sim.next_msgid("wecom")
    for user in users:
        if not sim.is_invalid(user):
            sim.received.append(Received("wecom", user, body, msgid))
    return _answer(0, "ok", invaliduser="|".join(invalid), msgid=msgid)


def create_app(
    settings: Settings,
    *,
    seed: int = 0,
    expires_in: int = 7200,
    rate_per_second: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The simulator; `app[SIM]` holds its state."""
    app = web.Application(middlewares=[_faults])
    app[SIM] = WechatSim(
        clock=clock,
        expires_in=expires_in,
        rate_per_second=rate_per_second,
        latency_ms=settings.sim_latency_ms,
        rate_500=settings.sim_rate_500,
        rate_limited_share=settings.sim_rate_429,
        invalid_share=settings.sim_invalid_share,
        seed=seed,
    )
    app.router.add_get("/cgi-bin/token", _token)
    app.router.add_post("/cgi-bin/message/template/send", _template_send)
    app.router.add_get("/cgi-bin/gettoken", _gettoken)
    app.router.add_post("/cgi-bin/message/send", _app_send)
    return app
