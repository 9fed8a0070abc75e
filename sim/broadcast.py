"""A local county emergency-broadcast platform: takes EBD packages, makes terminals ack.

`POST /ebd` takes the multipart part `file` (an `EBDT_<EBDID>.tar`), parses it with
channels.ebd's pure parser and answers an EBDResponse tar: ResultCode 1 when the package is
sound, 2 when the tar or XML cannot be read, 3 when a required element is missing or
invalid, 4 when `broadcast_public_key` (ewb's key) is set and a package other than a
ConnectionCheck is not signed by it. With `sim_broadcast_private_key` set, every answer is
signed with that key (cert SN `SIM_CERT_SN`). For an accepted EBM, after `ack_delay`
seconds every ONLINE terminal whose area lies within one of the AreaCodes posts a signed
`played` ack to ewb's `/webhooks/broadcast/ack`; offline terminals never ack. Then, as a
real platform does, it pushes to ewb's `/webhooks/broadcast/ebd` (signed like its answers)
an EBRDTState report of those terminals and an EBMStateResponse: one ResBrdItem per
terminal, 3 played for an online one, 4 failed for an offline one, the EBM's own state 3
when all played and 4 otherwise, CoverageRate the share that played. A share
`sim_broadcast_fail_share` of EBMs (seeded) fails everywhere: no acks, every terminal 4. A
share `sim_terminal_offline_share` of the online terminals (seeded) is offline from the
start. An EBMStateRequest is answered 1 and the EBM's latest state pushed again (1 waiting
before its terminals played; ResultCode 5 for an EBM it never took). A simulator without
terminals reports nothing: it has nothing to say.

Fault injection from the settings: `sim_latency_ms` before every answer and a share
`sim_rate_500` of requests answered 500 (seeded). Received packages are kept, in order,
under `PACKAGES`; the acks posted and ewb's answers under `ACKS`, the reports pushed under
`REPORTS`; clearing `ACK_GATE` holds acks and reports back until it is set again.

Run alone with the sample terminals: `python -m sim.broadcast`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from channels import ebd, ebd_read, ebd_sign, ebd_state
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
    received_at: float = field(default_factory=time.time)  # wall clock, for bench/urgent.py


@dataclass(frozen=True)
class Ack:
    """One playback confirmation posted to ewb, and ewb's HTTP status (0: unreachable)."""

    ebm_id: str
    endpoint_id: str
    answer: int


@dataclass(frozen=True)
class Report:
    """One package the simulator pushed to ewb, and the ResultCode ewb answered (0: none)."""

    ebd_type: str
    ebm_id: str | None
    states: tuple[tuple[str, int], ...]  # (endpoint, state) per terminal
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
    latest: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # EBM → states


PACKAGES = web.AppKey("broadcast_packages", list[Received])
ACKS = web.AppKey("broadcast_acks", list[Ack])
REPORTS = web.AppKey("broadcast_reports", list[Report])
EBD_PATH = "/webhooks/broadcast/ebd"
# Set: terminals ack. Tests clear it to hold acks back until ewb has stored what it sent.
ACK_GATE = web.AppKey("broadcast_ack_gate", asyncio.Event)
_STATE = web.AppKey("broadcast_state", _State)


def create_app(
    settings: Settings, terminals: Sequence[Terminal] = (), *, ack_delay: float = 0.05
) -> web.Application:
    """The simulator; its secret, ewb's URL and the faults come from `settings`."""
    app = web.Application(client_max_size=64 << 20)  # packages carry minutes of WAV
    secret = broadcast(settings).secret
    rng = random.Random(0)
    offline = settings.sim_terminal_offline_share
    fleet = tuple((e, area, online and rng.random() >= offline) for e, area, online in terminals)
    app[_STATE] = _State(settings, secret, fleet, ack_delay, rng)
    app[PACKAGES] = []
    app[ACKS] = []
    app[REPORTS] = []
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
    if code == 1 and parsed is not None and parsed.ebd_type not in HANDLED:
        code, desc = 5, f"the simulator does not handle {parsed.ebd_type}"
    asked = None
    if code == 1 and parsed is not None and parsed.ebd_type == "EBMStateRequest":
        try:
            asked = ebd_state.requested_ebm(parsed)
        except ebd.EbdError as e:
            code, desc = e.result_code, str(e)
        if asked is not None and asked not in state.latest:
            code, desc, asked = 5, f"the simulator never took EBM {asked}", None
    request.app[PACKAGES].append(Received(filename, data or b"", code, desc, parsed))
    if code == 1 and parsed is not None and parsed.ebm is not None:
        state.latest.setdefault(parsed.ebm.ebm_id, ())  # taken: waiting to be played
        _later(state, _acks(request.app, parsed.ebm))
    if asked is not None:
        _later(state, _report_again(request.app, asked))
    return _reply(state, parsed, code, desc)


HANDLED = ("EBM", "ConnectionCheck", "EBMStateRequest")


def _later(state: _State, work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)


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


def _signer(private_key: str) -> ebd_sign.Signer | None:
    """The simulator's signer (made once per key: ebd_sign.signer_for caches it)."""
    return ebd_sign.signer_for(private_key, cert_sn=SIM_CERT_SN)


def _within(terminals: Sequence[Terminal], area_codes: Sequence[str]) -> list[Terminal]:
    """The terminals within any of the areas."""
    return [t for t in terminals if any(ebd.covers(code, t[1]) for code in area_codes)]


def _targets(terminals: Sequence[Terminal], area_codes: Sequence[str]) -> list[str]:
    """Endpoints of the online terminals within any of the areas."""
    return [endpoint for endpoint, _, online in _within(terminals, area_codes) if online]


async def _acks(app: web.Application, ebm: ebd.Ebm) -> None:
    """The terminals play (and ack), then the platform reports their states and the EBM's."""
    state = app[_STATE]
    await asyncio.sleep(state.ack_delay)
    await app[ACK_GATE].wait()
    within = _within(state.terminals, ebm.area_codes)
    if not within:
        return
    failed = state.rng.random() < state.settings.sim_broadcast_fail_share
    url = webhook_url(state.settings, ACK_PATH)
    played = []
    for endpoint, _, online in within:
        if online and not failed:
            answer = await _post_ack(state, url, ebm.ebm_id, endpoint)
            app[ACKS].append(Ack(ebm.ebm_id, endpoint, answer))
            played.append(endpoint)
    devices = tuple((e, ebd_state.RUNNING if online else ebd_state.OFF) for e, _, online in within)
    await _push(app, "EBRDTState", None, devices, _devices_tar(state, devices))
    states = tuple((e, ebd_state.PLAYED if e in played else ebd_state.FAILED) for e, _, _ in within)
    state.latest[ebm.ebm_id] = states
    await _push(app, "EBMStateResponse", ebm.ebm_id, states, _state_tar(state, ebm.ebm_id, states))


async def _report_again(app: web.Application, ebm_id: str) -> None:
    """Answering an EBMStateRequest: the EBM's latest state (1 waiting before its terminals
    played)."""
    state = app[_STATE]
    states = state.latest.get(ebm_id, ())
    await _push(app, "EBMStateResponse", ebm_id, states, _state_tar(state, ebm_id, states))


def _state_tar(state: _State, ebm_id: str, states: tuple[tuple[str, int], ...]) -> bytes:
    played = sum(1 for _, code in states if code == ebd_state.PLAYED)
    overall = (
        ebd_state.WAITING
        if not states
        else (ebd_state.PLAYED if played == len(states) else ebd_state.FAILED)
    )
    state.count += 1
    return ebd_state.build_state_response(
        ebm_id=ebm_id,
        code=overall,
        source_ebrid=state.settings.broadcast_dest_ebrid,
        dest_ebrid=state.settings.broadcast_source_ebrid,
        sequence=state.count,
        created=datetime.now(UTC),
        coverage_rate=played / len(states) if states else None,
        resources=[ebd_state.ResourceState(e, code) for e, code in states],
        signer=_signer(state.settings.sim_broadcast_private_key),
    )[1]


def _devices_tar(state: _State, devices: tuple[tuple[str, int], ...]) -> bytes:
    state.count += 1
    return ebd_state.build_device_states(
        states=devices,
        source_ebrid=state.settings.broadcast_dest_ebrid,
        dest_ebrid=state.settings.broadcast_source_ebrid,
        sequence=state.count,
        created=datetime.now(UTC),
        signer=_signer(state.settings.sim_broadcast_private_key),
    )[1]


async def _push(
    app: web.Application,
    kind: str,
    ebm_id: str | None,
    states: tuple[tuple[str, int], ...],
    tar: bytes,
) -> None:
    """POST a package to ewb as the platform does; ewb's ResultCode is kept (0: none)."""
    state = app[_STATE]
    form = aiohttp.FormData()
    form.add_field("file", tar, filename="EBDT_report.tar", content_type="application/x-tar")
    answer = 0
    assert state.session is not None
    try:
        async with state.session.post(webhook_url(state.settings, EBD_PATH), data=form) as reply:
            body = await reply.read()
            if reply.status == 200:
                answer = ebd_read.read_response(body).result_code
    except (aiohttp.ClientError, TimeoutError, ebd.EbdError):
        answer = 0
    app[REPORTS].append(Report(kind, ebm_id, states, answer))


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
