"""Twilio's webhooks: message status callbacks, and residents' SMS replies (TD/STOP, 1/收到).

Both are signed by Twilio with `X-Twilio-Signature` over the URL it called and the posted
parameters. The URL checked is the configured public one (behind a proxy the request's own
URL differs); a call without a valid signature is refused with 403 and changes nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.sms import event_for_status
from config import providers
from delivery.receipts import TWILIO
from store.outage import StoreUnavailable
from subscribers.phones import BadPhone, mask, normalise
from subscribers.replies import Reply, classify
from web.errors import HttpError
from web.json_body import posted
from web.keys import INTAKE, services

log = logging.getLogger("ewb.web.twilio")

routes = web.RouteTableDef()

STATUS_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/inbound"
SIGNATURE_HEADER = "X-Twilio-Signature"
SID_MAX, FIELD_MAX = 128, 32  # the columns of provider_callbacks


async def _verified(request: web.Request, path: str) -> MultiDict[str]:
    """The posted parameters, if Twilio signed them for our public URL; else 403."""
    settings = services(request).settings
    form = await posted(request)
    params: MultiDict[str] = MultiDict()
    for name, value in form.items():
        if not isinstance(value, str):  # a file upload: nothing Twilio sends
            raise _forbidden(path, "a form with a file")
        params.add(name, value)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        raise _forbidden(path, f"no {SIGNATURE_HEADER}")
    validator = RequestValidator(providers.twilio(settings).auth_token)
    if not validator.validate(providers.webhook_url(settings, path), params, signature):
        raise _forbidden(path, f"a {SIGNATURE_HEADER} that does not match")
    return params


def _forbidden(path: str, what: str) -> HttpError:
    log.warning("twilio webhook %s refused: %s", path, what)
    return HttpError(403, "forbidden", f"{SIGNATURE_HEADER} is missing or does not match")


@routes.post(STATUS_PATH)
async def message_status(request: web.Request) -> web.Response:
    """A status change of a message we sent: stored, then answered; the receipts loop
    records it on its delivery (once) just after (delivery/receipts.py)."""
    params = await _verified(request, STATUS_PATH)
    sid = params.get("MessageSid", "")
    status = params.get("MessageStatus", "")
    error = params.get("ErrorCode") or None
    if event_for_status(status, error) is None or not sid:
        return web.Response()  # an interim status (queued, sending …): nothing to record
    if len(sid) > SID_MAX or len(status) > FIELD_MAX or len(error or "") > FIELD_MAX:
        raise HttpError(400, "bad_callback", "MessageSid, MessageStatus or ErrorCode is too long")
    try:
        await request.app[INTAKE].take(TWILIO, sid, status, error)
    except StoreUnavailable as unavailable:
        raise HttpError(503, "unavailable", "the callback could not be stored; call again") from (
            unavailable
        )
    return web.Response()


@routes.post(INBOUND_PATH)
async def inbound_sms(request: web.Request) -> web.Response:
    """A resident's reply: TD/STOP unsubscribes the number, 1/收到 acknowledges."""
    params = await _verified(request, INBOUND_PATH)
    sid = params.get("MessageSid", "")
    sender = params.get("From", "")
    try:
        number = normalise(sender)
    except BadPhone:
        number = sender  # a short code or an alphanumeric sender: matches nobody
    reply = classify(params.get("Body", ""))
    svc = services(request)
    if reply is Reply.UNSUBSCRIBE:
        async with svc.store.write() as tx:
            residents = await tx.residents.by_phone(number)
            for resident_id in residents:
                await tx.residents.opt_out(resident_id, "sms", svc.clock())
        log.info("sms reply %s from %s: unsubscribed residents %s", sid, mask(number), residents)
    elif reply is Reply.ACKNOWLEDGE:
        await _acknowledge(request, number, sid)
    else:
        log.info("sms reply %s from %s: free text, not acted on", sid, mask(number))
    return web.Response(text=str(MessagingResponse()), content_type="text/xml")


async def _acknowledge(request: web.Request, number: str, sid: str) -> None:
    svc = services(request)
    detail = f"reply {sid}"
    async with svc.store.write() as tx:
        delivery = await tx.deliveries.latest_to(number, "sms")
        if delivery is None:
            log.info("sms reply %s from %s: acknowledges no delivery", sid, mask(number))
            return
        if any(e.detail == detail for e in await tx.deliveries.events(delivery.id)):
            log.info("sms reply %s replayed: delivery_id=%s", sid, delivery.id)
            return
        await tx.deliveries.append(delivery.id, "acknowledged", svc.clock(), None, detail)
    log.info("sms reply %s: delivery_id=%s acknowledged", sid, delivery.id)
