"""Mandarin speech with the real espeak-ng, and the broadcast package that carries it."""

from __future__ import annotations

import io
import socket
import subprocess
import wave
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from channels.base import Alert, Batch, Message, Outcome
from channels.broadcast import BroadcastAdapter
from channels.speech import SpeechError, SpeechUnavailable, speak
from config.providers import broadcast
from config.settings import Settings, load_settings
from sim.broadcast import PACKAGES, create_app
from tests.support import TZ

TEXT = "台风红色预警：预计未来12小时内陈家港镇将受台风严重影响，请立即停止户外活动。"


def wav_facts(audio: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(audio)) as wav:
        return (
            wav.getnchannels(),
            wav.getframerate(),
            wav.getsampwidth(),
            wav.getnframes() / wav.getframerate(),
        )


async def test_speech_is_a_mono_22050_hz_wav() -> None:
    channels, rate, width, seconds = wav_facts(await speak(TEXT))
    assert (channels, rate, width) == (1, 22050, 2)
    assert seconds > 1  # 38 characters take espeak-ng about ten seconds


@pytest.fixture
def command_line(tmp_path: Path) -> dict[str, bytes]:
    """What `espeak-ng -v VOICE -w out.wav TEXT` writes (RECIPES.md), per voice."""
    written = {}
    for voice in ("cmn-latn-pinyin", "cmn"):
        out = tmp_path / f"{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), TEXT], check=True)
        written[voice] = out.read_bytes()
    return written


async def test_speech_is_the_recipes_pinyin_voice(command_line: dict[str, bytes]) -> None:
    spoken = await speak(TEXT)
    assert spoken == command_line["cmn-latn-pinyin"]
    assert spoken != command_line["cmn"]  # which reads tone digits in English


async def test_a_text_starting_with_a_dash_is_spoken_not_taken_as_an_option() -> None:
    assert wav_facts(await speak("-v 紧急通知"))[3] > 0


async def test_an_empty_text_is_refused() -> None:
    with pytest.raises(SpeechError, match="empty"):
        await speak("  ")


async def test_a_missing_binary_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no espeak-ng on PATH
    with pytest.raises(SpeechUnavailable) as missing:
        await speak(TEXT)
    assert str(missing.value) == "espeak-ng is not installed; apt-get install espeak-ng"


async def test_a_failing_espeak_reports_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESPEAK_DATA_PATH", str(tmp_path))  # no voice data there
    with pytest.raises(SpeechError, match=r"espeak-ng failed \(exit \d+\): .*phontab"):
        await speak(TEXT)


@pytest.fixture
async def spoken(tmp_path: Path) -> AsyncIterator[tuple[Settings, web.Application]]:
    """The simulated platform, and settings that turn speech on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    settings = load_settings(
        var_dir=tmp_path, broadcast_tts=True, sim_broadcast_port=sock.getsockname()[1]
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield settings, app
    await runner.cleanup()


async def _send(settings: Settings) -> list[Outcome]:
    now = datetime(2026, 7, 28, 8, 0, tzinfo=TZ)
    alert = Alert(1, 1, "11B01", 4, "响水县气象台", "32092141600000", now, now, now + timedelta(1))
    batch = Batch(
        "broadcast",
        (Message(1, "33209211010050314010000", TEXT, "台风红色预警"),),
        alert,
        ("320921",),
    )
    async with aiohttp.ClientSession() as session:
        results = await BroadcastAdapter(broadcast(settings), session, lambda: now).send(batch)
    return [r.outcome for r in results]


async def test_with_tts_the_package_carries_the_spoken_wav(
    spoken: tuple[Settings, web.Application],
) -> None:
    settings, app = spoken
    assert await _send(settings) == [Outcome.ACCEPTED]
    package = app[PACKAGES][0].package
    assert package is not None and package.ebm is not None
    (aux,) = package.ebm.auxiliaries
    assert (aux.type, aux.desc) == (3, "EBDR_0001.wav")
    audio = package.resources[aux.desc]
    assert aux.size == len(audio)
    channels, rate, _, seconds = wav_facts(audio)
    assert (channels, rate) == (1, 22050) and seconds > 1


async def test_without_espeak_the_text_still_goes_out(
    spoken: tuple[Settings, web.Application], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, app = spoken
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert await _send(settings) == [Outcome.ACCEPTED]
    package = app[PACKAGES][0].package
    assert package is not None and package.ebm is not None
    assert package.ebm.auxiliaries == ()
    assert package.ebm.desc == TEXT  # the platform speaks MsgDesc itself
