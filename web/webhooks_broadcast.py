"""ewb's own JSON playback callback, which the simulator posts as terminals play.

POST /webhooks/broadcast/ack with JSON {"ebm_id", "endpoint_id", "status": "played" |
"failed", "at", "detail"?}, signed: X-EWB-Timestamp (unix seconds) and X-EWB-Signature
(channels.broadcast.ack_signature with the broadcast secret). A forged or stale call is
refused with 403; a replayed one changes nothing; an unknown EBMID or terminal is logged and
answered 200, so the platform does not keep retrying what can never match.

No real platform calls it, so it is kept as a note only: the event `terminal-ack` (provider
code `played` or `failed`), which moves no state and gives no coverage credit. Playback is
decided by the platform's EBMStateResponse (web/webhooks_platform.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from channels.broadcast import ack_signature_valid
from config.providers import broadcast
from store.deliveries import DeliveryRepository
from web.callbacks import provider_id_arrives
from web.errors import HttpError
from web.json_body import parse_json
from web.keys import services
from web.responses import json_response

log = logging.getLogger("ewb.web.broadcast")
routes = web.RouteTableDef()

MAX_SKEW = 300  # seconds between the signed timestamp and our clock
STATUSES = ("played", "failed")
ACK_EVENT = "terminal-ack"  # a note: no state change, no coverage credit


@routes.post("/webhooks/broadcast/ack")
async def ack(request: web.Request) -> web.Response:
    """Record a terminal's playback confirmation (or failure) on its delivery."""
    svc = services(request)
    body = await request.read()
    _authenticate(request, body, broadcast(svc.settings).secret, svc.clock())
    ebm_id, endpoint, status, at, detail = _parse(body)
    await provider_id_arrives(svc.store, ebm_id, svc.settings.webhook_grace_seconds)
    async with svc.store.write() as tx:
        found = [
            d
            for d in await tx.deliveries.by_provider_id(ebm_id, endpoint, lock=True)
            if d.channel == "broadcast"
        ]
        if not found:
            log.warning("broadcast ack for unknown EBM %s at endpoint %s ignored", ebm_id, endpoint)
            return json_response({"status": "ignored", "reason": "unknown EBM or terminal"})
        # The same EBM reaches a terminal once per version; the newest delivery is the one.
        delivery = found[-1]
        if await _seen(tx.deliveries, delivery.id, status, at):
            return json_response({"status": "duplicate", "delivery_id": delivery.id})
        await tx.deliveries.append(
            delivery.id, ACK_EVENT, at, status, detail if status == "failed" else None
        )
        if status == "failed":
            log.warning("terminal %s says it failed to play EBM %s: %s", endpoint, ebm_id, detail)
    return json_response({"status": "recorded", "delivery_id": delivery.id})


def _authenticate(request: web.Request, body: bytes, secret: str, now: datetime) -> None:
    timestamp = request.headers.get("X-EWB-Timestamp", "")
    signature = request.headers.get("X-EWB-Signature", "")
    if not secret:
        log.error("broadcast ack refused: broadcast_secret is not set")
        raise HttpError(403, "forbidden", "acks cannot be verified: no broadcast secret is set")
    if not (timestamp.isascii() and timestamp.isdigit()) or not ack_signature_valid(
        secret, timestamp, body, signature
    ):
        log.warning("broadcast ack refused: bad signature from %s", request.remote)
        raise HttpError(403, "bad_signature", "X-EWB-Signature does not match the body")
    if abs(now.timestamp() - int(timestamp)) > MAX_SKEW:
        log.warning("broadcast ack refused: timestamp %s is stale", timestamp)
        raise HttpError(403, "stale_timestamp", f"X-EWB-Timestamp is over {MAX_SKEW} s off")


def _parse(body: bytes) -> tuple[str, str, str, datetime, str]:
    try:
        data: Any = parse_json(body)
    except ValueError:
        raise HttpError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise HttpError(422, "invalid", "the body must be a JSON object")
    values = []
    for name in ("ebm_id", "endpoint_id", "status", "at"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise HttpError(422, "invalid", f"{name} is required", name)
        values.append(value)
    ebm_id, endpoint, status, at_text = values
    if status not in STATUSES:
        raise HttpError(422, "invalid", f"status must be one of {', '.join(STATUSES)}", "status")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        raise HttpError(422, "invalid", "at is not an ISO 8601 time", "at") from None
    if at.tzinfo is None:
        raise HttpError(422, "invalid", "at needs a UTC offset", "at")
    detail = data.get("detail")
    text = detail[:500] if isinstance(detail, str) and detail else "the terminal did not play it"
    return ebm_id, endpoint, status, at, text


async def _seen(
    deliveries: DeliveryRepository, delivery_id: int, status: str, at: datetime
) -> bool:
    """A terminal's `played` is noted once; a failure once per time."""
    return any(
        e.event == ACK_EVENT and e.provider_code == status and (status == "played" or e.at == at)
        for e in await deliveries.events(delivery_id)
    )
