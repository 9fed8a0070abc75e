"""Headers on every response: its request id, and no framing by other sites.

Every response carries `X-Request-Id` (the caller's, when it sent a plausible one, else a
new one); the server logs an unexpected error with the same id, so an operator finds the
log line a user reports. No page may be framed (`X-Frame-Options: DENY`, and
`frame-ancestors 'none'` where a response has no policy of its own). The self-contained
documents (the ack page, the coverage report: inline styles, no scripts) get
`DOCUMENT_CSP`; the console's pages their own stricter one (web/pages.py).
"""

from __future__ import annotations

import re
import uuid

from aiohttp import web

HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str)
_PLAUSIBLE = re.compile(r"[A-Za-z0-9._-]{8,64}")

# No scripts at all, styles only inline, forms only back to ewb, never framed.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
NO_FRAMING_CSP = "frame-ancestors 'none'"


def request_id(request: web.Request) -> str:
    """This request's id, made on first use."""
    found = request.get(REQUEST_ID)
    if found is None:
        given = request.headers.get(HEADER, "")
        found = request[REQUEST_ID] = given if _PLAUSIBLE.fullmatch(given) else uuid.uuid4().hex
    return found


async def stamp(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and redirects too, just before it goes."""
    headers = response.headers
    headers[HEADER] = request_id(request)
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Content-Security-Policy", NO_FRAMING_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
