"""The broadcast platform's own packages to ewb: state reports, terminal states, heartbeats.

POST /webhooks/broadcast/ebd takes an EBD tar as the platform sends it: the multipart part
`file` (or, from a sender that posts the tar bare, the body itself). As the platform
protocol expects, every answer is HTTP 200 with an EBDResponse tar, signed by ewb when
`broadcast_private_key` is set: ResultCode 1 when the package was applied, 2 unreadable,
3 incomplete, 4 when `broadcast_platform_public_key` is set and a package other than a
heartbeat is not signed by it, 5 a package type ewb does not take. Every refusal (2–5) is
an audit entry (`broadcast.refused`, actor `platform`); nothing of a refused package is
applied.

Taken: EBMStateResponse (delivery/platform.py applies it to the EBM's deliveries),
EBRDTState (terminal statuses) and ConnectionCheck (answered; it proves the platform is
there).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import BodyPartReader, web

from channels import ebd, ebd_read, ebd_sign, ebd_state
from config.providers import broadcast
from delivery.platform import record_devices, record_state
from ewb.services import Services
from web.keys import services

log = logging.getLogger("ewb.web.platform")
routes = web.RouteTableDef()

TAKEN = ("EBMStateResponse", "EBRDTState", "ConnectionCheck")


@routes.post("/webhooks/broadcast/ebd")
async def receive(request: web.Request) -> web.Response:
    svc = services(request)
    data = await _tar_of(request)
    parsed: ebd.Ebd | None = None
    try:
        parsed = ebd_read.parse_ebd(data)
        _check_signature(svc, parsed)
        if parsed.ebd_type not in TAKEN:
            raise _NotTaken(f"ewb does not take {parsed.ebd_type} packages")
        applied = await _apply(svc, parsed)
    except ebd.EbdError as e:
        await _audit_refusal(svc, parsed, e)
        log.warning("platform package refused (ResultCode %s): %s", e.result_code, e)
        return await _answer(svc, parsed, e.result_code, str(e)[:200])
    log.info("platform %s %s applied: %s", parsed.ebd_type, parsed.ebd_id, applied)
    return await _answer(svc, parsed, 1, ebd.RESULT_TEXT[1])


class _NotTaken(ebd.EbdError):
    result_code = 5


async def _tar_of(request: web.Request) -> bytes:
    """The `file` part of a multipart post (the first part if none is so named), else the
    body; a malformed multipart body is read as no package (ResultCode 2 follows)."""
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    try:
        reader = await request.multipart()
        first: bytes | None = None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            content = await part.read()
            if part.name == "file":
                return bytes(content)
            if first is None:
                first = bytes(content)
        return first or b""
    except (ValueError, AssertionError, RuntimeError) as e:  # aiohttp's malformed-part errors
        log.warning("platform post with a malformed multipart body: %s", e)
        return b""


def _check_signature(svc: Services, parsed: ebd.Ebd) -> None:
    key = broadcast(svc.settings).platform_public_key
    if key and parsed.ebd_type != "ConnectionCheck":  # heartbeats go unsigned
        ebd_sign.verify(parsed.signature, parsed.ebdb, key)


async def _apply(svc: Services, parsed: ebd.Ebd) -> dict[str, Any]:
    now = svc.clock()
    if parsed.ebd_type == "EBMStateResponse":
        state = ebd_state.broadcast_state(parsed)  # read fully before anything is written
        async with svc.store.write() as tx:
            return {
                "ebm_id": state.ebm_id,
                "code": state.code,
                **await record_state(tx, state, now, svc.settings.batch_size),
            }
    if parsed.ebd_type == "EBRDTState":
        states = ebd_state.device_states(parsed)
        async with svc.store.write() as tx:
            known = await record_devices(tx, states, now, svc.settings.batch_size)
        return {"terminals": len(states), "known": len(known)}
    return {"heartbeat": parsed.ebd_id}


async def _audit_refusal(svc: Services, parsed: ebd.Ebd | None, error: ebd.EbdError) -> None:
    async with svc.store.write() as tx:
        await tx.audit.append(
            at=svc.clock(),
            actor="platform",
            action="broadcast.refused",
            warning_id=None,
            version=None,
            outcome="refused",
            details={
                "result_code": error.result_code,
                "reason": str(error)[:500],
                "ebd_id": parsed.ebd_id if parsed else None,
                "ebd_type": parsed.ebd_type if parsed else None,
            },
        )


async def _answer(svc: Services, parsed: ebd.Ebd | None, code: int, desc: str) -> web.Response:
    config = broadcast(svc.settings)
    signer = ebd_sign.signer_for(config.private_key, config.public_key, config.cert_sn)
    async with svc.store.write() as tx:
        sequence = await tx.next_sequence("ebd")
    name, tar = ebd.build_response(
        source_ebrid=config.source_ebrid,
        dest_ebrid=parsed.source_ebrid if parsed else config.dest_ebrid,
        sequence=sequence,
        related_ebd_id=parsed.ebd_id if parsed else None,
        result_code=code,
        result_desc=desc,
        created=svc.clock(),
        signer=signer,
    )
    headers = {"Content-Disposition": f"attachment; filename={name}"}
    return web.Response(body=tar, content_type="application/x-tar", headers=headers)
