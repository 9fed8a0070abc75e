"""SMS through Twilio: the official client, async, pointed at the configured base URL.

Twilio's answers are converted here, at the edge, into one SendResult per message; no
provider exception leaves `send`. The status callbacks Twilio posts later are read by
web/webhooks_twilio.py with `event_for_status` below.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import aiohttp

# The twilio package ships no type information (no py.typed marker, no stubs).
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from channels.base import Batch, ChannelAdapter, Message, Outcome, SendResult
from config.providers import Twilio
from subscribers.phones import mask, mask_text

log = logging.getLogger("ewb.channels.sms")

# twilio's HTTP client logs every request and response at INFO (about ten lines a message);
# a county-wide send would drown the log. Its lines go to this logger, quiet by default.
_http_log = logging.getLogger("ewb.channels.sms.http")
_http_log.setLevel(logging.WARNING)

# Twilio error codes that say this number will never take this message.
PERMANENT_CODES = {
    21211: "invalid 'To' number",
    21408: "no permission to send to the number's region",
    21610: "the number replied STOP (unsubscribed)",
    21612: "the number cannot be reached by SMS",
    21614: "not a mobile number",
}
# Codes that mean "not now": the account's rate limit, the sender's queue is full.
RETRYABLE_CODES = {20429: "too many requests", 21611: "the sender's queue is full"}


def outcome_for(status: int, code: int | None) -> Outcome:
    """How to treat an error answer: HTTP status plus Twilio's error code (if it sent one)."""
    if code in RETRYABLE_CODES or status == 429 or status >= 500:
        return Outcome.RETRYABLE
    if code in PERMANENT_CODES or 400 <= status < 500:
        # Any other 4xx (bad credentials 20003, body too long 21617, …): the same request
        # would get the same answer, so the person should get the next channel now.
        return Outcome.PERMANENT
    return Outcome.RETRYABLE  # 1xx/3xx: not an answer Twilio gives; try again later


def result_for_error(delivery_id: int, status: int, code: int | None, message: str) -> SendResult:
    """The SendResult for an error answer; Twilio's text names the number, so it is masked."""
    detail = mask_text(message) or f"HTTP {status}"
    code_text = str(code if code is not None else status)
    if outcome_for(status, code) is Outcome.PERMANENT:
        return SendResult.permanent(delivery_id, code_text, detail)
    return SendResult.retryable(delivery_id, code_text, detail)


@dataclass(frozen=True)
class StatusEvent:
    """What a status callback means for the delivery: an event and its provider code."""

    event: str
    provider_code: str | None = None


# MessageStatus → delivery event; statuses not listed (queued, sending, accepted,
# scheduled, …) say nothing the delivery does not already know.
_STATUS_EVENTS = {"sent": "sent", "delivered": "delivered", "read": "read"}
_FAILED_STATUSES = {"undelivered", "failed", "canceled"}


def event_for_status(status: str, error_code: str | None) -> StatusEvent | None:
    """The delivery event a MessageStatus callback records, or None for an interim status."""
    if status in _FAILED_STATUSES:
        return StatusEvent("failed", error_code or status)
    event = _STATUS_EVENTS.get(status)
    return StatusEvent(event) if event else None


class BaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # untyped base class
    """twilio's async HTTP client sending to `base_url` instead of https://api.twilio.com."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_http_log)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (twilio calls it with this signature)
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        target = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        if auth is not None:
            # twilio hands credentials to aiohttp's BasicAuth, deprecated in aiohttp 3.14
            # (gone in 4): send the same header ourselves.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        # twilio 9's async client never applies its own timeout (it passes None on, and
        # aiohttp reads None as "wait forever"): a hung connection would hold the batch.
        return await super().request(
            method,
            target,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


class SmsAdapter:
    """Sends a batch of SMS through Twilio's Messages API, a bounded number at a time."""

    channel: ClassVar[str] = "sms"
    max_body: ClassVar[int] = 1600  # Twilio refuses longer bodies (error 21617)
    # The account's sending limit; delivery/ enforces it across all workers. Twilio's
    # default for a long code is far lower: set this to what the account was granted.
    messages_per_second: ClassVar[float] = 50.0
    one_request_per_batch: ClassVar[bool] = False

    def __init__(self, config: Twilio, *, timeout: float = 10.0, concurrency: int = 20) -> None:
        """Build inside the running event loop (the HTTP session binds to it)."""
        self.config = config
        self._http = BaseUrlHttpClient(config.base_url, timeout)
        # environment={}: TWILIO_EDGE/TWILIO_REGION must not move requests off base_url.
        self._client = Client(
            config.account_sid, config.auth_token, http_client=self._http, environment={}
        )
        self._limit = asyncio.Semaphore(concurrency)

    async def send(self, batch: Batch) -> list[SendResult]:
        """Send every message of the batch; one result per message, in order."""
        return list(await asyncio.gather(*(self._send_one(m, batch) for m in batch.messages)))

    async def _send_one(self, message: Message, batch: Batch) -> SendResult:
        async with self._limit:
            if batch.stopped:  # its batch yielded before this message's turn
                return SendResult.unsent(message.delivery_id)
            try:
                created = await self._client.messages.create_async(
                    to=message.address,
                    from_=self.config.from_number,
                    body=message.text,
                    status_callback=self.config.status_callback,
                )
            except Exception as e:
                result = self._failure(message, e)
                # delivery/ handles (and logs) the result; this line is for tracing only.
                log.debug(
                    "sms delivery_id=%s to=%s %s %s",
                    message.delivery_id,
                    mask(message.address),
                    result.outcome,
                    result.code,
                )
                return result
        sid = getattr(created, "sid", None)
        if not isinstance(sid, str) or not sid:
            # Twilio may have taken it: a duplicate beats a missed warning, so try again.
            return SendResult.retryable(message.delivery_id, "no_sid", "answer without a sid")
        return SendResult.accepted(message.delivery_id, sid)

    def _failure(self, message: Message, e: Exception) -> SendResult:
        delivery_id = message.delivery_id
        if isinstance(e, TwilioRestException):
            return result_for_error(delivery_id, int(e.status), _int(e.code), str(e.msg))
        if isinstance(e, TwilioServiceException):
            text = f"{e.title}: {e.detail}" if e.detail else str(e.title)
            return result_for_error(delivery_id, int(e.status), _int(e.code), text)
        if isinstance(e, TimeoutError):
            return SendResult.retryable(delivery_id, "timeout", "no answer from Twilio in time")
        if isinstance(e, aiohttp.ClientError):
            detail = mask_text(f"{type(e).__name__}: {e}")
            return SendResult.retryable(delivery_id, "connection", detail)
        # Anything else (an unreadable answer, a bug): the message may or may not have gone
        # out; retrying risks a duplicate, giving up risks a family not being warned.
        log.exception("sms delivery_id=%s: unexpected error", delivery_id)
        return SendResult.retryable(delivery_id, "error", mask_text(f"{type(e).__name__}: {e}"))

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _is_a_channel_adapter(adapter: SmsAdapter) -> ChannelAdapter:
    return adapter  # mypy checks here that SmsAdapter keeps to the protocol
