"""WeChat channels: Official Account template messages for residents, WeCom for officers.

Result codes: the provider's errcode as a decimal string ("43004", "-1"), or "invaliduser"
for a WeCom user the call reported invalid; "http_<status>", "timeout", "network" or
"bad_response" when the provider gave no errcode; "credentials_rejected" or
"token_rejected" when no access token could be had; "too_long" or "invalid_address" when
the adapter refused a message without sending it; "internal_error" for a bug in here.

A misconfigured account (wrong secret, template id, agentid, IP whitelist) is not the
recipient's fault: those answers are retryable with a clear code, so the delivery layer
does not record people as unreachable — it must bound the retries and fall back.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

import aiohttp

from channels.base import Alert, Batch, Message, SendResult
from channels.wechat_token import (
    TOKEN_ERRORS,
    Clock,
    Json,
    TokenApi,
    TokenCache,
    Transient,
    errcode_of,
)
from config.providers import Wechat, Wecom

if TYPE_CHECKING:
    from channels.base import ChannelAdapter

logger = logging.getLogger(__name__)

# 45009 API frequency or daily quota, 45033 WeCom concurrency, 45047 Official Account
# per-user downstream limit.
RATE_LIMITED = frozenset({45009, 45033, 45047})
RATE_RETRY_AFTER = 60.0
# About the account or its configuration, not the recipient: retryable (see above).
ACCOUNT_ERRORS = {
    40013: "invalid appid or corpid",
    40037: "invalid template_id",
    40056: "invalid agentid",
    40164: "this server's IP is not whitelisted",
    48001: "the account may not use this API",
    48002: "the API is forbidden for this app",
    50002: "the account is restricted",
    60020: "this server's IP is not whitelisted",
}
_HINTS = {
    43004: "the resident does not follow the Official Account",
    40003: "not a valid openid or userid",
    81013: "no such user in the WeCom app's visible range",
    47003: "a template value was refused",
}
_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # WeCom's rule; excludes "@all"
TEMPLATE_VALUE_MAX = 200  # characters the API takes per template value (more: 47003)
WECOM_MAX_USERS = 1000  # users per message/send call
WECOM_MAX_BYTES = 2048  # text.content, UTF-8
CHINA = ZoneInfo("Asia/Shanghai")


def classify(delivery_id: int, errcode: int, errmsg: str) -> SendResult:
    """What a non-zero errcode of a send call means for the message."""
    hint = _HINTS.get(errcode) or ACCOUNT_ERRORS.get(errcode)
    detail = f"{hint}: {errmsg}" if hint else errmsg or f"errcode {errcode}"
    code = str(errcode)
    if errcode in RATE_LIMITED:
        return SendResult.retryable(delivery_id, code, detail, RATE_RETRY_AFTER)
    if errcode == -1:  # system busy
        return SendResult.retryable(delivery_id, code, detail)
    if errcode in ACCOUNT_ERRORS:
        return SendResult.retryable(delivery_id, code, detail, RATE_RETRY_AFTER)
    if errcode in TOKEN_ERRORS:  # only reaches here if refreshing did not help
        return SendResult.retryable(delivery_id, "token_rejected", detail)
    return SendResult.permanent(delivery_id, code, detail)


def template_result(delivery_id: int, answer: Json) -> SendResult:
    """The result of one template/send answer."""
    try:
        errcode = errcode_of(answer)
    except Transient as e:
        return SendResult.retryable(delivery_id, e.code, e.detail)
    if errcode == 0:  # taken: never resend, even without the msgid WeChat always adds
        return SendResult.accepted(delivery_id, str(answer.get("msgid", "")))
    return classify(delivery_id, errcode, str(answer.get("errmsg", "")))


def wecom_results(messages: Sequence[Message], answer: Json) -> list[SendResult]:
    """The results of one message/send answer for the users it carried, in order."""
    try:
        errcode = errcode_of(answer)
    except Transient as e:
        return [SendResult.retryable(m.delivery_id, e.code, e.detail) for m in messages]
    errmsg = str(answer.get("errmsg", ""))
    # WeCom lower-cases the userids it reports; userids are case-insensitive.
    invalid = {u.lower() for u in str(answer.get("invaliduser") or "").split("|") if u}
    if errcode == 0:
        msgid = str(answer.get("msgid", ""))
        why = "not a WeCom user in the app's visible range"
        return [
            SendResult.permanent(m.delivery_id, "invaliduser", why)
            if m.address.lower() in invalid
            else SendResult.accepted(m.delivery_id, msgid)
            for m in messages
        ]
    # 81013: every recipient is invalid, whether or not invaliduser lists them all.
    return [classify(m.delivery_id, errcode, errmsg) for m in messages]


def _value(text: str) -> str:
    """One line (WeChat cuts a value at its first line break), within the API's limit."""
    line = " ".join(text.splitlines())
    return line if len(line) <= TEMPLATE_VALUE_MAX else line[: TEMPLATE_VALUE_MAX - 1] + "…"


def template_data(message: Message, alert: Alert | None, tz: tzinfo = CHINA) -> dict[str, str]:
    """The template's values: title, the warning's title, issuer and time, and the text.

    Since 2023-05-04 WeChat shows neither "first" nor "remark" and at most 20 characters of
    each keyword, cutting the rest without an error. So the title (hazard and grade) is also
    keyword1, where it is seen; "first" still carries it for templates that show it.
    The text is never cut here (the templates layer keeps it within the limit); the labels
    around it are, rather than cost the resident the message. Times are in `tz`.
    """
    data: dict[str, str] = {}
    if message.title:
        data["first"] = data["keyword1"] = _value(message.title)
    if alert is not None:
        sent = alert.sent.astimezone(tz) if alert.sent.tzinfo else alert.sent
        data["keyword2"] = _value(alert.sender_name)
        data["keyword3"] = sent.strftime("%Y-%m-%d %H:%M")
    data["keyword4"] = " ".join(message.text.splitlines())
    return data


def wecom_content(message: Message) -> str:
    """Title and text; the text alone if both would not fit (only the text is checked)."""
    both = f"{message.title}\n{message.text}"
    if message.title and len(both.encode()) <= WECOM_MAX_BYTES:
        return both
    return message.text


def wecom_calls(
    items: Sequence[tuple[int, Message]],
) -> list[tuple[str, list[tuple[int, Message]]]]:
    """Messages grouped into calls: same content, at most 1,000 distinct users per call.

    A user twice in a batch (case-insensitively) goes into a second call, so that each
    delivery gets its own answer.
    """
    calls: list[tuple[str, list[tuple[int, Message]], set[str]]] = []
    for index, message in items:
        content, user = wecom_content(message), message.address.lower()
        for c_content, members, users in calls:
            if c_content == content and user not in users and len(members) < WECOM_MAX_USERS:
                members.append((index, message))
                users.add(user)
                break
        else:
            calls.append((content, [(index, message)], {user}))
    return [(content, members) for content, members, _ in calls]


def _internal_error(message: Message) -> SendResult:
    logger.exception("unexpected error sending delivery_id=%s", message.delivery_id)
    return SendResult.retryable(message.delivery_id, "internal_error", "see the service log")


class WechatAdapter:
    """Residents: Official Account template messages, one call per message (address: openid)."""

    channel: ClassVar[str] = "wechat"
    # Template values longer than ~200 characters are refused (47003); residents see only
    # 20 characters of each (see template_data).
    max_body: ClassVar[int] = TEMPLATE_VALUE_MAX
    # WeChat publishes no per-second limit for template/send; the binding one is the daily
    # quota (100,000 template messages by default). 50/s is our assumption, not WeChat's.
    messages_per_second: ClassVar[float] = 50.0
    one_request_per_batch: ClassVar[bool] = False

    def __init__(
        self,
        config: Wechat,
        session: aiohttp.ClientSession,
        *,
        clock: Clock = time.monotonic,
        timeout: float = 10.0,
        concurrency: int = 8,
        tz: tzinfo = CHINA,
    ) -> None:
        self._template_id = config.template_id
        self._tz = tz
        # Shared by every batch this adapter sends: the process's send concurrency.
        self._limit = asyncio.Semaphore(concurrency)
        self._api = TokenApi(
            "wechat",
            session,
            config.base_url,
            "/cgi-bin/token",
            {"grant_type": "client_credential", "appid": config.appid, "secret": config.secret},
            clock,
            timeout,
        )

    @property
    def tokens(self) -> TokenCache:
        return self._api.tokens

    async def send(self, batch: Batch) -> list[SendResult]:
        """One template message per resident, a few at a time; results in message order."""

        async def one(message: Message) -> SendResult:
            async with self._limit:
                if batch.stopped:
                    return SendResult.unsent(message.delivery_id)
                try:
                    return await self._send_one(message, batch.alert)
                except Exception:
                    return _internal_error(message)

        return list(await asyncio.gather(*(one(m) for m in batch.messages)))

    async def _send_one(self, message: Message, alert: Alert | None) -> SendResult:
        if not message.address.strip():
            return SendResult.permanent(message.delivery_id, "invalid_address", "no openid")
        if len(message.text) > TEMPLATE_VALUE_MAX:
            detail = f"the text has {len(message.text)} characters; WeChat takes {self.max_body}"
            return SendResult.permanent(message.delivery_id, "too_long", detail)
        data = template_data(message, alert, self._tz)
        payload: dict[str, object] = {
            "touser": message.address,
            "template_id": self._template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if message.url:  # tapping the message opens it: the resident acknowledges there
            payload["url"] = message.url
        try:
            answer = await self._api.post("/cgi-bin/message/template/send", payload)
        except Transient as e:
            return SendResult.retryable(message.delivery_id, e.code, e.detail, e.retry_after)
        return template_result(message.delivery_id, answer)

    async def close(self) -> None:
        """Nothing to release: the session is shared and closed by its owner."""


class WecomAdapter:
    """Officers: WeCom app text messages, up to 1,000 users per call (address: userid)."""

    channel: ClassVar[str] = "wecom"
    # text.content takes 2,048 bytes of UTF-8: 682 Chinese characters (checked in bytes).
    max_body: ClassVar[int] = WECOM_MAX_BYTES // 3
    # WeCom allows 10,000 calls a minute per API, each carrying up to 1,000 users; what binds
    # is per person: 30 messages a minute from one app (more are silently dropped) and
    # 200 × licences a day. For a few hundred officers 1,000 messages/s is no constraint.
    messages_per_second: ClassVar[float] = 1000.0
    one_request_per_batch: ClassVar[bool] = False

    def __init__(
        self,
        config: Wecom,
        session: aiohttp.ClientSession,
        *,
        clock: Clock = time.monotonic,
        timeout: float = 10.0,
    ) -> None:
        if not config.agentid.isdigit():
            raise ValueError("the WeCom agentid must be the app's numeric AgentId")
        self._agentid = int(config.agentid)
        self._api = TokenApi(
            "wecom",
            session,
            config.base_url,
            "/cgi-bin/gettoken",
            {"corpid": config.corpid, "corpsecret": config.secret},
            clock,
            timeout,
        )

    @property
    def tokens(self) -> TokenCache:
        return self._api.tokens

    async def send(self, batch: Batch) -> list[SendResult]:
        """Officers with the same text share a call; results in message order."""
        results: list[SendResult | None] = [None] * len(batch.messages)
        sendable: list[tuple[int, Message]] = []
        for index, message in enumerate(batch.messages):
            refusal = self._refusal(message)
            if refusal is None:
                sendable.append((index, message))
            results[index] = refusal
        for content, members in wecom_calls(sendable):
            messages = [m for _, m in members]
            try:
                answers = await self._send_call(content, messages)
            except Exception:
                answers = [_internal_error(m) for m in messages]
            for (index, _), result in zip(members, answers, strict=True):
                results[index] = result
        return [
            r or SendResult.retryable(m.delivery_id, "internal_error", "no answer recorded")
            for r, m in zip(results, batch.messages, strict=True)
        ]

    def _refusal(self, message: Message) -> SendResult | None:
        if not _USERID.fullmatch(message.address):
            # Also guards the "|"-joined touser: an address must name exactly one user.
            return SendResult.permanent(message.delivery_id, "invalid_address", "not a userid")
        size = len(wecom_content(message).encode())
        if size > WECOM_MAX_BYTES:
            detail = f"the text has {size} bytes; WeCom takes {WECOM_MAX_BYTES}"
            return SendResult.permanent(message.delivery_id, "too_long", detail)
        return None

    async def _send_call(self, content: str, messages: list[Message]) -> list[SendResult]:
        payload = {
            "touser": "|".join(m.address for m in messages),
            "msgtype": "text",
            "agentid": self._agentid,
            "text": {"content": content},
        }
        try:
            answer = await self._api.post("/cgi-bin/message/send", payload)
        except Transient as e:
            return [
                SendResult.retryable(m.delivery_id, e.code, e.detail, e.retry_after)
                for m in messages
            ]
        return wecom_results(messages, answer)

    async def close(self) -> None:
        """Nothing to release: the session is shared and closed by its owner."""


if TYPE_CHECKING:  # both adapters satisfy the protocol (checked by mypy)

    def _conforms(wechat: WechatAdapter, wecom: WecomAdapter) -> list[ChannelAdapter]:
        return [wechat, wecom]
