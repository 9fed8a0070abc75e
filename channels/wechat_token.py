"""The thin HTTP client both WeChat adapters share: one API call, and the access-token cache.

WeChat and WeCom answer API errors as HTTP 200 with `{"errcode": n, "errmsg": "..."}`.
Everything else that goes wrong — a timeout, a refused connection, a non-2xx status, a body
that is not a JSON object, a token that cannot be had — is a `Transient` failure: it says
nothing about the recipient, so the message is retried, never given up on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

Json = dict[str, Any]
Clock = Callable[[], float]
Fetch = Callable[[], Awaitable[tuple[str, float]]]

# Refresh this long before WeChat says a token expires (Apprise's wechat.py does the same);
# tokens that live less than twice as long are kept for half their life instead.
EXPIRY_MARGIN = 300.0
# After the token endpoint failed, answer from memory for a while instead of asking again:
# the Official Account may fetch a token only 2,000 times a day, and a wrong secret must not
# burn that quota (nor make every message of a batch wait for its own failing fetch).
HOLD_AFTER_REJECTION = 60.0
HOLD_AFTER_OUTAGE = 5.0
# Two tokens refused within this window: something else is invalidating them (typically a
# second system fetching tokens with the same appid). Stop refetching for a while.
REJECTION_WINDOW = 30.0

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid / invalid / expired access token

# The token endpoint's own errcodes that are not about the credentials.
_TOKEN_ENDPOINT_TRANSIENT = {-1: "system busy", 45009: "token quota reached"}


class Transient(Exception):
    """The provider could not be asked or did not answer usefully; retry the message later."""

    def __init__(self, code: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


def errcode_of(answer: Json) -> int:
    """The answer's errcode; an answer without one is not a WeChat answer."""
    code = answer.get("errcode")
    if isinstance(code, bool) or not isinstance(code, int):
        raise Transient("bad_response", "the answer carries no errcode")
    return code


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: dict[str, str],
    payload: Json | None = None,
    seconds: float,
) -> Json:
    """One API call; the answer as a JSON object, or `Transient`.

    Details never include the URL: its query string carries the secret or the access token.
    """
    # UTF-8 rather than \\u escapes, as WeChat's own SDKs send it (WeCom counts the bytes).
    body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
    try:
        async with session.request(
            method,
            url,
            params=params,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            raw = await response.read()
            status, reason = response.status, response.reason
            retry_after = _retry_after(response.headers.get("Retry-After"))
    except TimeoutError:
        raise Transient(
            "timeout", f"no answer within {seconds:g} s (it may have been sent)"
        ) from None
    except aiohttp.ClientError as e:
        raise Transient("network", type(e).__name__) from None
    if not 200 <= status < 300:
        raise Transient(f"http_{status}", f"HTTP {status} {reason or ''}".strip(), retry_after)
    try:
        # WeChat labels some JSON answers text/plain, so the content type is not checked.
        answer = json.loads(raw)
    except ValueError:
        raise Transient("bad_response", "the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise Transient("bad_response", "the answer is not a JSON object")
    return answer


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP date; the delivery layer's backoff is good enough


async def fetch_token(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], seconds: float
) -> tuple[str, float]:
    """Ask a token endpoint (cgi-bin/token or cgi-bin/gettoken) for (token, expires_in)."""
    try:
        answer = await call(session, "GET", url, params=params, seconds=seconds)
    except Transient as e:
        raise Transient(e.code, f"fetching the access token: {e.detail}", e.retry_after) from None
    code = answer.get("errcode", 0)  # the Official Account omits errcode on success
    if code in _TOKEN_ENDPOINT_TRANSIENT:
        reason = _TOKEN_ENDPOINT_TRANSIENT[code]
        raise Transient(str(code), f"fetching the access token: {reason}", HOLD_AFTER_REJECTION)
    if code != 0:
        raise Transient(
            "credentials_rejected",
            f"the token endpoint refused the credentials: errcode {code} "
            f"{answer.get('errmsg', '')!s} — check the appid/corpid and secret settings",
            HOLD_AFTER_REJECTION,
        )
    token, expires_in = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
        raise Transient("bad_response", "the token answer lacks access_token or expires_in")
    return token, float(expires_in)


class TokenCache:
    """One access token: fetched on first use, kept until shortly before it expires."""

    def __init__(self, name: str, fetch: Fetch, clock: Clock) -> None:
        self._name = name  # for the log: "wechat" or "wecom"
        self._fetch = fetch  # raises Transient
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._fresh_until = 0.0
        self._failure: Transient | None = None
        self._failed_until = 0.0
        self._rejected_at: float | None = None
        self.fetches = 0

    async def get(self) -> str:
        """The current token, fetching one if needed; raises Transient if none can be had."""
        if self._token is not None and self._clock() < self._fresh_until:
            return self._token
        async with self._lock:  # concurrent senders wait for one fetch, not one each
            now = self._clock()
            if self._token is not None and now < self._fresh_until:
                return self._token
            self._token = None
            if self._failure is not None and now < self._failed_until:
                f = self._failure
                raise Transient(f.code, f.detail, self._failed_until - now)
            self.fetches += 1
            try:
                token, expires_in = await self._fetch()
            except Transient as e:
                self._hold(e, e.retry_after or HOLD_AFTER_OUTAGE)
                raise
            self._failure = None
            margin = min(EXPIRY_MARGIN, expires_in / 2)
            self._token, self._fresh_until = token, self._clock() + expires_in - margin
            return token

    def invalidate(self, token: str) -> None:
        """The provider refused `token` (40001/40014/42001): drop it so the next get refetches.

        Only the current token is dropped — a request that used an older one says nothing
        about the token fetched since.
        """
        if token != self._token:
            return
        self._token = None
        now = self._clock()
        if self._rejected_at is not None and now - self._rejected_at < REJECTION_WINDOW:
            self._hold(
                Transient(
                    "token_rejected",
                    "fresh access tokens are refused too; is another system fetching tokens "
                    "with the same credentials?",
                ),
                HOLD_AFTER_REJECTION,
            )
        self._rejected_at = now

    def _hold(self, failure: Transient, seconds: float) -> None:
        self._failure, self._failed_until = failure, self._clock() + seconds
        # Logged once per hold, never with the token or the secret.
        logger.error("%s access token unavailable: %s", self._name, failure)


class TokenApi:
    """Calls with an access token: on a token error, drop it, fetch one, try once more."""

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        base_url: str,
        token_path: str,
        token_params: dict[str, str],
        clock: Clock,
        timeout: float,
    ) -> None:
        self._session, self._base, self._timeout = session, base_url.rstrip("/"), timeout
        self._token_url, self._token_params = self._base + token_path, token_params
        self.tokens = TokenCache(name, self._fetch, clock)

    async def _fetch(self) -> tuple[str, float]:
        return await fetch_token(self._session, self._token_url, self._token_params, self._timeout)

    async def post(self, path: str, payload: Json) -> Json:
        """The answer to a POST (errcode other than a token error), or Transient."""
        for _ in range(2):
            token = await self.tokens.get()
            answer = await call(
                self._session,
                "POST",
                self._base + path,
                params={"access_token": token},
                payload=payload,
                seconds=self._timeout,
            )
            errcode = errcode_of(answer)
            if errcode not in TOKEN_ERRORS:
                return answer
            self.tokens.invalidate(token)
        raise Transient(
            "token_rejected",
            f"access token refused again after a refresh: errcode {errcode} "
            f"{answer.get('errmsg', '')!s}",
        )
