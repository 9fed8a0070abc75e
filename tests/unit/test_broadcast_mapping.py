"""The broadcast adapter's mapping of platform answers to SendResults, over real HTTP.

A scripted platform on 127.0.0.1 answers each package as a table row says: every
EBDResponse ResultCode, HTTP failures, unreadable replies, timeouts and dropped connections.
"""

from __future__ import annotations

import asyncio
import io
import socket
import tarfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from gmssl import sm2  # type: ignore[import-untyped]

from channels import ebd, ebd_read, ebd_sign
from channels.base import Alert, Audio, Batch, Message, Outcome, SendResult
from channels.broadcast import BroadcastAdapter
from config.providers import Broadcast
from tests.support import NOW

SOURCE = "43209210000000102010101"
DEST = "43209210000000103010101"
ALERT = Alert(
    warning_id=42,
    version=2,
    event_code="11B01",
    grade_rank=4,
    sender_name="响水县气象台",
    sender_code="32092141600000",
    sent=NOW,
    start=NOW,
    end=NOW + timedelta(days=1),
    sequence=3,
)
EBM_ID = SOURCE + "20260728" + "0003"
TITLE = "响水县气象台发布台风红色预警信号"
TEXT = "预计未来12小时内陈家港镇将受台风严重影响，请立即停止户外活动。"
ENDPOINTS = ("33209211010010314010000", "33209211010020314010000", "33209211010030314010000")

Answer = Callable[[str], web.StreamResponse]  # the EBDID received → the platform's answer


def batch(**changes: object) -> Batch:
    messages = tuple(
        Message(delivery_id=100 + i, address=e, text=TEXT, title=TITLE)
        for i, e in enumerate(ENDPOINTS)
    )
    made = Batch("broadcast", messages, ALERT, ("320921101",), None, 17)
    return replace(made, **changes)  # type: ignore[arg-type]


def reply(code: int, desc: str | None = None, *, related: str | None = "same") -> Answer:
    def answer(ebd_id: str) -> web.Response:
        _, tar = ebd.build_response(
            source_ebrid=DEST,
            dest_ebrid=SOURCE,
            sequence=1,
            related_ebd_id=ebd_id if related == "same" else related,
            result_code=code,
            result_desc=ebd.RESULT_TEXT[code] if desc is None else desc,
            created=NOW,
        )
        return web.Response(body=tar, content_type="application/x-tar")

    return answer


def http(status: int, text: str = "", **headers: str) -> Answer:
    return lambda _: web.Response(status=status, text=text, headers=headers)


def raw(body: bytes) -> Answer:
    return lambda _: web.Response(body=body, content_type="application/x-tar")


def _body(response: web.StreamResponse) -> bytes:
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    return response.body


def an_ebm(ebd_id: str) -> web.Response:
    _, tar = ebd.build_ebd(
        alert=ALERT,
        title=TITLE,
        desc=TEXT,
        areas=["320921"],
        source_ebrid=DEST,
        dest_ebrid=SOURCE,
        sequence=9,
        created=NOW,
    )
    return web.Response(body=tar, content_type="application/x-tar")


@dataclass
class Platform:
    url: str
    answer: Answer = field(default=reply(1))
    received: list[tuple[str, str, bytes]] = field(default_factory=list)  # filename, type, tar
    hang: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def platform() -> AsyncIterator[Platform]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state = Platform(f"http://127.0.0.1:{sock.getsockname()[1]}/receive/ebd.htm")

    async def receive(request: web.Request) -> web.StreamResponse:
        reader = await request.multipart()
        part = await reader.next()
        assert isinstance(part, aiohttp.BodyPartReader) and part.name == "file"
        tar = bytes(await part.read())
        state.received.append((part.filename or "", part.headers["Content-Type"], tar))
        if state.hang:
            await asyncio.wait_for(state.released.wait(), 10)
        return state.answer(ebd_read.parse_ebd(tar).ebd_id)

    app = web.Application()
    app.router.add_post("/receive/ebd.htm", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield state
    state.released.set()
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def adapter(url: str, session: aiohttp.ClientSession, timeout: float = 5.0) -> BroadcastAdapter:
    config = Broadcast(url, "secret", SOURCE, DEST, tts=False, sandbox=False)
    return BroadcastAdapter(config, session, lambda: NOW, timeout=timeout)


SIGNATURE = "签名验证失败：无EBDS文件"
ANSWERS: dict[str, tuple[Answer, Outcome, str | None, str | None]] = {
    "ResultCode 1": (reply(1), Outcome.ACCEPTED, None, None),
    "ResultCode 0": (reply(0), Outcome.RETRYABLE, "ebd-0", "收到数据未处理"),
    "ResultCode 2": (reply(2, "tar 解析失败"), Outcome.PERMANENT, "ebd-2", "tar 解析失败"),
    "ResultCode 3": (reply(3, "缺少 MsgTitle"), Outcome.PERMANENT, "ebd-3", "缺少 MsgTitle"),
    "ResultCode 3 no desc": (reply(3, ""), Outcome.PERMANENT, "ebd-3", "数据内容缺失"),
    "ResultCode 4": (reply(4, SIGNATURE), Outcome.PERMANENT, "ebd-4", SIGNATURE),
    "ResultCode 5": (reply(5, "数据库忙"), Outcome.RETRYABLE, "ebd-5", "数据库忙"),
    "HTTP 500": (http(500), Outcome.RETRYABLE, "http-500", None),
    "HTTP 502 page": (http(502, "<h1>Bad Gateway</h1>"), Outcome.RETRYABLE, "http-502", None),
    "HTTP 503": (http(503, **{"Retry-After": "30"}), Outcome.RETRYABLE, "http-503", None),
    "HTTP 429": (http(429), Outcome.RETRYABLE, "http-429", None),
    "HTTP 404": (http(404), Outcome.PERMANENT, "http-404", "broadcast_url"),
    "HTTP 403": (http(403), Outcome.PERMANENT, "http-403", None),
    "HTTP 302": (http(302, Location="/elsewhere"), Outcome.PERMANENT, "http-302", None),
    "200 HTML page": (raw(b"<html>ok</html>"), Outcome.RETRYABLE, "ebd-reply", None),
    "200 empty": (raw(b""), Outcome.RETRYABLE, "ebd-reply", None),
    "200 over 1 MiB": (raw(bytes(2 << 20)), Outcome.RETRYABLE, "ebd-reply", "1 MiB"),
    "200 EBM, not a response": (an_ebm, Outcome.RETRYABLE, "ebd-reply", "EBDResponse"),
    "200 answers another package": (
        reply(1, related="10" + DEST + "0" * 15 + "9"),
        Outcome.RETRYABLE,
        "ebd-reply",
        "answers",
    ),
    "200 ResultCode 7": (
        lambda ebd_id: raw(_body(reply(1)(ebd_id)).replace(b"Code>1<", b"Code>7<"))(ebd_id),
        Outcome.RETRYABLE,
        "ebd-reply",
        "ResultCode",
    ),
}


@pytest.mark.parametrize(
    ("answer", "outcome", "code", "detail"), ANSWERS.values(), ids=ANSWERS.keys()
)
async def test_platform_answer_maps_to_one_result_per_terminal(
    platform: Platform,
    session: aiohttp.ClientSession,
    answer: Answer,
    outcome: Outcome,
    code: str | None,
    detail: str | None,
) -> None:
    platform.answer = answer
    results = await adapter(platform.url, session).send(batch())
    assert len(platform.received) == 1  # one package for the whole batch
    assert [r.delivery_id for r in results] == [100, 101, 102]
    assert {(r.outcome, r.code) for r in results} == {(outcome, code)}
    if outcome is Outcome.ACCEPTED:
        assert {r.provider_id for r in results} == {EBM_ID}
    else:
        assert all(r.provider_id is None and r.detail for r in results)
    if detail is not None:
        assert all(detail in (r.detail or "") for r in results)


async def test_signature_refusal_says_packages_are_unsigned(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    platform.answer = reply(4, SIGNATURE)
    results = await adapter(platform.url, session).send(batch())
    assert "does not sign" in (results[0].detail or "")


async def test_retry_after_is_passed_on(platform: Platform, session: aiohttp.ClientSession) -> None:
    platform.answer = http(503, **{"Retry-After": "30"})
    results = await adapter(platform.url, session).send(batch())
    assert {r.retry_after for r in results} == {30.0}


async def test_timeout_is_retryable(platform: Platform, session: aiohttp.ClientSession) -> None:
    platform.hang = True
    results = await adapter(platform.url, session, timeout=0.2).send(batch())
    assert {(r.outcome, r.code) for r in results} == {(Outcome.RETRYABLE, "timeout")}


async def test_refused_connection_is_retryable(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    results = await adapter(f"http://127.0.0.1:{port}/ebd", session).send(batch())
    assert {(r.outcome, r.code) for r in results} == {(Outcome.RETRYABLE, "connection")}


async def test_dropped_connection_is_retryable(session: aiohttp.ClientSession) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = await adapter(f"http://127.0.0.1:{port}/ebd", session).send(batch())
    assert {(r.outcome, r.code) for r in results} == {(Outcome.RETRYABLE, "connection")}


async def test_the_package_is_a_multipart_file_part_carrying_the_batch(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    await adapter(platform.url, session).send(batch())
    filename, content_type, tar = platform.received[0]
    parsed = ebd_read.parse_ebd(tar)
    assert filename == f"EBDT_{parsed.ebd_id}.tar"
    assert content_type == "application/x-tar"
    assert parsed.ebd_id == "10" + SOURCE + "0000000000000017"
    assert (parsed.source_ebrid, parsed.dest_ebrid) == (SOURCE, DEST)
    assert parsed.ebm is not None
    assert (parsed.ebm.ebm_id, parsed.ebm.severity, parsed.ebm.msg_type) == (EBM_ID, 1, 1)
    assert (parsed.ebm.title, parsed.ebm.desc) == (TITLE, TEXT)
    assert parsed.ebm.area_codes == ("320921101000",)
    assert parsed.ebm.auxiliaries == ()  # tts is off and the batch has no audio


async def test_batch_audio_travels_as_a_wav_auxiliary(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    audio = b"RIFF" + bytes(64)
    await adapter(platform.url, session).send(batch(audio=Audio(audio, "wav")))
    parsed = ebd_read.parse_ebd(platform.received[0][2])
    assert parsed.ebm is not None
    assert parsed.ebm.auxiliaries == (ebd.Auxiliary(3, "EBDR_0001.wav", len(audio)),)
    assert parsed.resources["EBDR_0001.wav"] == audio


def _mixed() -> Batch:
    made = batch()
    other = replace(made.messages[2], text=TEXT + "（更新）")
    return replace(made, messages=(*made.messages[:2], other))


UNSENDABLE: dict[str, tuple[Batch, str]] = {
    "no alert": (batch(alert=None), "no alert"),
    "messages differ": (_mixed(), "differ"),
    "text too long": (
        batch(messages=tuple(replace(m, text="风" * 1501) for m in batch().messages)),
        "1500 characters",
    ),
    "extra area code": (batch(areas=("320921101E02",)), "area code"),
    "no area": (batch(areas=()), "at least one area"),
    "window ends before it starts": (batch(alert=replace(ALERT, end=NOW)), "ends before"),
    "event code": (batch(alert=replace(ALERT, event_code="台风")), "event code"),
}


@pytest.mark.parametrize(("unsendable", "detail"), UNSENDABLE.values(), ids=UNSENDABLE.keys())
async def test_unsendable_batches_fail_permanently_without_a_request(
    platform: Platform, session: aiohttp.ClientSession, unsendable: Batch, detail: str
) -> None:
    results = await adapter(platform.url, session).send(unsendable)
    assert platform.received == []
    assert len(results) == 3
    assert {(r.outcome, r.code) for r in results} == {(Outcome.PERMANENT, "ebd-invalid")}
    assert detail in (results[0].detail or "")


async def test_text_of_exactly_max_body_is_sent(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    assert BroadcastAdapter.max_body == 1500
    longest = batch(messages=tuple(replace(m, text="风" * 1500) for m in batch().messages))
    results = await adapter(platform.url, session).send(longest)
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}


async def test_empty_batch_sends_nothing(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    assert await adapter(platform.url, session).send(batch(messages=())) == []
    assert platform.received == []


async def test_an_unexpected_error_never_escapes(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    broken = batch(alert=replace(ALERT, event_code=None))  # a caller's bug: not a string
    results = await adapter(platform.url, session).send(broken)
    assert results == [
        SendResult(i, Outcome.RETRYABLE, code="internal", detail=results[0].detail)
        for i in (100, 101, 102)
    ]
    assert "TypeError" in (results[0].detail or "")


# --- SM2 signatures (channels/ebd_sign.py) -------------------------------------------------

EWB_PRIVATE = "1aac66088239867ee9b55e9e45dc87be28f312bedeb8834655364b09c4e46c8f"
EWB_SIGNER = ebd_sign.Signer(EWB_PRIVATE, cert_sn="0000000033aa")
# The platform's key starts with 04, which gmssl alone misreads (see ebd_sign).
PLATFORM_SIGNER = ebd_sign.Signer(
    "bb87e926f18e43b2488ef5406fa96c29249137918948f6d335b9a326b5157db1"
)
STRANGER = ebd_sign.Signer("5" * 64)


def keyed_adapter(url: str, session: aiohttp.ClientSession, **keys: str) -> BroadcastAdapter:
    config = replace(Broadcast(url, "secret", SOURCE, DEST, tts=False, sandbox=False), **keys)
    return BroadcastAdapter(config, session, lambda: NOW, timeout=5.0)


def signed_reply(
    code: int, signer: ebd_sign.Signer | None, edit: tuple[bytes, bytes] | None = None
) -> Answer:
    """A reply signed by `signer`; `edit` changes the EBDB (or, with b"EBDS", the EBDS)."""

    def answer(ebd_id: str) -> web.Response:
        _, tar = ebd.build_response(
            source_ebrid=DEST,
            dest_ebrid=SOURCE,
            sequence=1,
            related_ebd_id=ebd_id,
            result_code=code,
            result_desc=ebd.RESULT_TEXT[code],
            created=NOW,
            signer=signer,
        )
        if edit is not None:
            tar = _edited(tar, *edit)
        return web.Response(body=tar, content_type="application/x-tar")

    return answer


def _edited(tar: bytes, old: bytes, new: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as opened:
        files = {m.name: opened.extractfile(m).read() for m in opened}  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as out:
        for name, content in files.items():
            if old == b"EBDS":
                content = new if name.startswith("EBDS_") else content
            elif name.startswith("EBDB_"):
                content = content.replace(old, new)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


async def test_with_a_private_key_every_package_is_signed(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    sender = keyed_adapter(platform.url, session, private_key=EWB_PRIVATE, cert_sn="0000000033aa")
    results = await sender.send(batch(audio=Audio(b"RIFF" + bytes(64), "wav")))
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    parsed = ebd_read.parse_ebd(platform.received[0][2])
    assert parsed.signature is not None
    signature = ebd_sign.parse_signature(parsed.signature)
    assert (signature.related_ebd_id, signature.cert_sn) == (parsed.ebd_id, "0000000033aa")
    # gmssl's own check over the exact EBDB bytes, then ewb's verify.
    crypt = sm2.CryptSM2(private_key="", public_key=EWB_SIGNER.public_key)
    assert crypt.verify_with_sm3(signature.r_s.hex(), parsed.ebdb)
    ebd_sign.verify(parsed.signature, parsed.ebdb, EWB_SIGNER.public_key)
    assert set(parsed.resources) == {"EBDR_0001.wav"}


SIGNED_REPLIES: dict[str, tuple[Answer, Outcome, str | None, str | None]] = {
    "signed by the platform": (signed_reply(1, PLATFORM_SIGNER), Outcome.ACCEPTED, None, None),
    "unsigned": (reply(1), Outcome.RETRYABLE, "ebd-reply", "no EBDS"),
    "signed by another key": (
        signed_reply(1, STRANGER),
        Outcome.RETRYABLE,
        "ebd-reply",
        "does not match",
    ),
    "ResultCode changed after signing": (
        signed_reply(2, PLATFORM_SIGNER, (b"<ResultCode>2<", b"<ResultCode>1<")),
        Outcome.RETRYABLE,
        "ebd-reply",
        "does not match",
    ),
    "signature file unreadable": (
        signed_reply(1, PLATFORM_SIGNER, (b"EBDS", b"<Signature/>")),
        Outcome.RETRYABLE,
        "ebd-reply",
        "SignatureValue",
    ),
    "signed refusal": (signed_reply(3, PLATFORM_SIGNER), Outcome.PERMANENT, "ebd-3", None),
}


@pytest.mark.parametrize(
    ("answer", "outcome", "code", "detail"), SIGNED_REPLIES.values(), ids=SIGNED_REPLIES.keys()
)
async def test_with_the_platform_key_only_signed_replies_are_believed(
    platform: Platform,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    answer: Answer,
    outcome: Outcome,
    code: str | None,
    detail: str | None,
) -> None:
    platform.answer = answer
    checking = keyed_adapter(platform.url, session, platform_public_key=PLATFORM_SIGNER.public_key)
    results = await checking.send(batch())
    assert {(r.outcome, r.code) for r in results} == {(outcome, code)}
    if detail is not None:
        assert all(detail in (r.detail or "") for r in results)
    if code == "ebd-reply":
        assert any(
            "unreadable reply" in r.message for r in caplog.records if r.levelname == "WARNING"
        )


async def test_without_the_platform_key_a_signature_is_not_checked(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    platform.answer = signed_reply(1, STRANGER)
    results = await adapter(platform.url, session).send(batch())
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}


async def test_a_refused_signature_of_a_signed_package_points_at_the_platform_s_key(
    platform: Platform, session: aiohttp.ClientSession
) -> None:
    platform.answer = reply(4, SIGNATURE)
    results = await keyed_adapter(platform.url, session, private_key=EWB_PRIVATE).send(batch())
    assert {(r.outcome, r.code) for r in results} == {(Outcome.PERMANENT, "ebd-4")}
    assert "public key" in (results[0].detail or "")
    assert "does not sign" not in (results[0].detail or "")


@pytest.mark.parametrize(
    ("keys", "setting"),
    [
        ({"private_key": EWB_PRIVATE, "public_key": PLATFORM_SIGNER.public_key}, "private_key"),
        ({"private_key": "0" * 64}, "private_key"),
        ({"platform_public_key": "1" * 128}, "broadcast_platform_public_key"),
    ],
    ids=["pair mismatch", "zero key", "off the curve"],
)
def test_unusable_keys_stop_the_adapter_naming_the_setting(
    keys: dict[str, str], setting: str
) -> None:
    with pytest.raises(ebd_sign.BadKey, match=setting):
        keyed_adapter("http://127.0.0.1:1/ebd", None, **keys)  # type: ignore[arg-type]
