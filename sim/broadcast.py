"""A local county emergency-broadcast platform: takes EBD packages, makes terminals ack.

`POST /ebd` takes the multipart part `file` (an `EBDT_<EBDID>.tar`), parses it with
channels.ebd's pure parser and answers an EBDResponse tar: ResultCode 1 when the package is
sound, 2 when the tar or XML cannot be read, 3 when a required element is missing or
invalid, 4 when `broadcast_public_key` (ewb's key) is set and a package other than a
ConnectionCheck is not signed by it. With `sim_broadcast_private_key` set, every answer is
signed with that key (cert SN `SIM_CERT_SN`). For an accepted EBM, after `ack_delay`
seconds every ONLINE terminal whose area lies within one of the AreaCodes posts a signed
`played` ack to ewb's `/webhooks/broadcast/ack`; offline terminals never ack.

Fault injection from the settings: `sim_latency_ms` before every answer and a share
`sim_rate_500` of requests answered 500 (seeded). Received packages are kept, in order,
under `PACKAGES`; the acks posted and ewb's answers under `ACKS`; clearing `ACK_GATE` holds
acks back until it is set again.

Run alone with the sample terminals: `python -m sim.broadcast`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from channels import ebd, ebd_read, ebd_sign
from channels.broadcast import ack_signature
from config.data import EXTRA_AREAS_CSV, TERMINALS_SAMPLE_CSV, read_csv, read_divisions
from config.providers import broadcast, webhook_url
from config.settings import Settings, load_settings
from subscribers.terminals import COLUMNS

ACK_PATH = "/webhooks/broadcast/ack"
SIM_CERT_SN = "000000000001"
Terminal = tuple[str, str, bool]  # endpoint id, 12-digit area code, online


@dataclass(frozen=True)
class Received:
    """One package the simulator answered, with the ResultCode it gave."""

    filename: str
    data: bytes = field(repr=False)
    result_code: int
    result_desc: str
    package: ebd.Ebd | None  # None when it could not be parsed


@dataclass(frozen=True)
class Ack:
    """One playback confirmation posted to ewb, and ewb's HTTP status (0: unreachable)."""

    ebm_id: str
    endpoint_id: str
    answer: int


@dataclass
class _State:
    settings: Settings
    secret: str
    terminals: tuple[Terminal, ...]
    ack_delay: float
    rng: random.Random
    session: aiohttp.ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    count: int = 0


PACKAGES = web.AppKey("broadcast_packages", list[Received])
ACKS = web.AppKey("broadcast_acks", list[Ack])
# Set: terminals ack. Tests clear it to hold acks back until ewb has stored what it sent.
ACK_GATE = web.AppKey("broadcast_ack_gate", asyncio.Event)
_STATE = web.AppKey("broadcast_state", _State)


def create_app(
    settings: Settings, terminals: Sequence[Terminal] = (), *, ack_delay: float = 0.05
) -> web.Application:
    """The simulator; its secret, ewb's URL and the faults come from `settings`."""
    app = web.Application(client_max_size=64 << 20)  # packages carry minutes of WAV
    secret = broadcast(settings).secret
    app[_STATE] = _State(settings, secret, tuple(terminals), ack_delay, random.Random(0))
    app[PACKAGES] = []
    app[ACKS] = []
    app[ACK_GATE] = asyncio.Event()
    app[ACK_GATE].set()
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_post("/ebd", _receive)
    return app


def load_terminals(path: Path = TERMINALS_SAMPLE_CSV) -> list[Terminal]:
    """(endpoint, 12-digit area, online) from a terminals CSV; extra areas as their parent."""
    parents = {row["code"]: row["parent_code"] for _, row in read_divisions(EXTRA_AREAS_CSV)}
    return [
        (
            row["endpoint_id"],
            ebd.area_code_12(parents.get(row["area_code"], row["area_code"])),
            row["status"] == "online",
        )
        for _, row in read_csv(path, COLUMNS)
    ]


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[_STATE]
    state.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    yield
    for task in list(state.tasks):
        task.cancel()
    await asyncio.gather(*state.tasks, return_exceptions=True)
    await state.session.close()


async def _receive(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    await asyncio.sleep(state.settings.sim_latency_ms / 1000)
    if state.rng.random() < state.settings.sim_rate_500:
        return web.Response(status=500, text="simulated platform failure")
    filename, data = await _file_part(request)
    parsed = None
    if data is None:
        code, desc = 2, "no multipart/form-data part named file"
    else:
        try:
            parsed = ebd_read.parse_ebd(data)
            _check_signature(state.settings, parsed)
            code, desc = 1, ebd.RESULT_TEXT[1]
        except ebd.EbdError as e:
            code, desc = e.result_code, str(e)
    if code == 1 and parsed is not None and parsed.ebd_type not in ("EBM", "ConnectionCheck"):
        code, desc = 5, f"the simulator does not handle {parsed.ebd_type}"
    request.app[PACKAGES].append(Received(filename, data or b"", code, desc, parsed))
    if code == 1 and parsed is not None and parsed.ebm is not None:
        task = asyncio.get_running_loop().create_task(_acks(request.app, parsed.ebm))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
    return _reply(state, parsed, code, desc)


async def _file_part(request: web.Request) -> tuple[str, bytes | None]:
    """The name and bytes of the part `file`, as receivers take it (None: no such part)."""
    if not request.content_type.startswith("multipart/"):
        return "", None
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, aiohttp.BodyPartReader) and part.name == "file":
            return part.filename or "", bytes(await part.read())
    return "", None


def _reply(state: _State, parsed: ebd.Ebd | None, code: int, desc: str) -> web.Response:
    state.count += 1
    name, tar = ebd.build_response(
        source_ebrid=state.settings.broadcast_dest_ebrid,  # the simulator is the platform
        dest_ebrid=parsed.source_ebrid if parsed else state.settings.broadcast_source_ebrid,
        sequence=state.count,
        related_ebd_id=parsed.ebd_id if parsed else None,
        result_code=code,
        result_desc=desc,
        created=datetime.now(UTC),
        signer=_signer(state.settings.sim_broadcast_private_key),
    )
    headers = {"Content-Disposition": f"attachment; filename={name}"}
    return web.Response(body=tar, content_type="application/x-tar", headers=headers)


def _check_signature(settings: Settings, parsed: ebd.Ebd) -> None:
    """SignatureInvalid (ResultCode 4) unless ewb signed it; heartbeats are not checked."""
    if settings.broadcast_public_key and parsed.ebd_type != "ConnectionCheck":
        ebd_sign.verify(parsed.signature, parsed.ebdb, settings.broadcast_public_key)


@functools.cache
def _signer(private_key: str) -> ebd_sign.Signer | None:
    """The simulator's signer, made once per key (deriving the public key takes a while)."""
    return ebd_sign.Signer(private_key, cert_sn=SIM_CERT_SN) if private_key else None


def _targets(terminals: Sequence[Terminal], area_codes: Sequence[str]) -> list[str]:
    """Endpoints of the online terminals within any of the areas."""
    return [
        endpoint
        for endpoint, area, online in terminals
        if online and any(ebd.covers(code, area) for code in area_codes)
    ]


async def _acks(app: web.Application, ebm: ebd.Ebm) -> None:
    state = app[_STATE]
    await asyncio.sleep(state.ack_delay)
    await app[ACK_GATE].wait()
    url = webhook_url(state.settings, ACK_PATH)
    for endpoint in _targets(state.terminals, ebm.area_codes):
        answer = await _post_ack(state, url, ebm.ebm_id, endpoint)
        app[ACKS].append(Ack(ebm.ebm_id, endpoint, answer))


async def _post_ack(state: _State, url: str, ebm_id: str, endpoint: str) -> int:
    body = json.dumps(
        {
            "ebm_id": ebm_id,
            "endpoint_id": endpoint,
            "status": "played",
            "at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-EWB-Timestamp": timestamp,
        "X-EWB-Signature": ack_signature(state.secret, timestamp, body),
    }
    assert state.session is not None
    try:
        async with state.session.post(url, data=body, headers=headers) as reply:
            await reply.read()
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


def main() -> None:
    """Serve the simulator on sim_host:sim_broadcast_port with the sample terminals."""
    settings = load_settings()
    app = create_app(settings, load_terminals())
    web.run_app(app, host=settings.sim_host, port=settings.sim_broadcast_port)


if __name__ == "__main__":
    main()
