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
from mutagen.mp3 import MP3

from channels.base import Alert, Audio, Batch, Message, Outcome
from channels.broadcast import BroadcastAdapter
from channels.speech import SpeechError, SpeechUnavailable, mp3_seconds, speak, spoken
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


async def test_speech_as_mp3_is_mono_and_as_long_as_the_wav(tmp_path: Path) -> None:
    audio = await spoken(TEXT, tmp_path)
    assert (audio.format, audio.auxiliary_type) == ("mp3", 2)
    assert audio.data[:2] in (b"\xff\xf3", b"\xff\xfb", b"\xff\xf2", b"\xff\xfa")  # frame sync
    info = MP3(io.BytesIO(audio.data)).info
    assert (info.channels, info.sample_rate, info.bitrate) == (1, 22050, 32000)
    wav_seconds = wav_facts(await speak(TEXT))[3]
    assert abs(mp3_seconds(audio.data) - wav_seconds) < 0.2 * wav_seconds
    assert len(audio.data) < len(await speak(TEXT)) / 5  # 32 kbit/s against 352.8 kbit/s


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def test_speech_is_cached_per_text_and_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await spoken(TEXT, tmp_path)
    wav = await spoken(TEXT, tmp_path, "wav")
    assert (wav.format, wav.auxiliary_type) == ("wav", 3) and wav_facts(wav.data)[0] == 1
    assert sorted(p.suffix for p in _files(tmp_path)) == [".mp3", ".wav"]  # no .part left
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no espeak-ng: only the cache can answer
    assert await spoken(TEXT, tmp_path) == first
    assert await spoken(TEXT, tmp_path, "wav") == wav
    with pytest.raises(SpeechUnavailable):
        await spoken(TEXT + "。", tmp_path)  # another text is not in the cache


async def test_a_damaged_cache_file_is_spoken_again(tmp_path: Path) -> None:
    first = await spoken(TEXT, tmp_path)
    (cached,) = _files(tmp_path)
    cached.write_bytes(b"RIFF not an mp3 at all")
    assert await spoken(TEXT, tmp_path) == first
    assert cached.read_bytes() == first.data


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[tuple[Settings, web.Application]]:
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


async def _send(settings: Settings, audio: Audio | None) -> list[Outcome]:
    now = datetime(2026, 7, 28, 8, 0, tzinfo=TZ)
    alert = Alert(1, 1, "11B01", 4, "响水县气象台", "32092141600000", now, now, now + timedelta(1))
    batch = Batch(
        "broadcast",
        (Message(1, "33209211010050314010000", TEXT, "台风红色预警"),),
        alert,
        ("320921",),
        audio,
    )
    async with aiohttp.ClientSession() as session:
        results = await BroadcastAdapter(broadcast(settings), session, lambda: now).send(batch)
    return [r.outcome for r in results]


async def test_the_package_carries_the_spoken_mp3_as_auxiliary_type_2(
    platform: tuple[Settings, web.Application],
) -> None:
    settings, app = platform
    audio = await spoken(TEXT, settings.var_dir / "speech")
    assert await _send(settings, audio) == [Outcome.ACCEPTED]
    package = app[PACKAGES][0].package
    assert package is not None and package.ebm is not None
    (aux,) = package.ebm.auxiliaries
    assert (aux.type, aux.desc) == (2, "EBDR_0001.mp3")
    received = package.resources[aux.desc]
    assert received == audio.data and aux.size == len(received)
    assert mp3_seconds(received) > 1


async def test_a_wav_goes_as_auxiliary_type_3(
    platform: tuple[Settings, web.Application],
) -> None:
    settings, app = platform
    audio = await spoken(TEXT, settings.var_dir / "speech", "wav")
    assert await _send(settings, audio) == [Outcome.ACCEPTED]
    (aux,) = app[PACKAGES][0].package.ebm.auxiliaries
    assert (aux.type, aux.desc) == (3, "EBDR_0001.wav")
    channels, rate, _, seconds = wav_facts(app[PACKAGES][0].package.resources[aux.desc])
    assert (channels, rate) == (1, 22050) and seconds > 1


async def test_without_audio_the_text_still_goes_out(
    platform: tuple[Settings, web.Application],
) -> None:
    settings, app = platform
    assert await _send(settings, None) == [Outcome.ACCEPTED]
    package = app[PACKAGES][0].package
    assert package is not None and package.ebm is not None
    assert package.ebm.auxiliaries == ()
    assert package.ebm.desc == TEXT  # the platform speaks MsgDesc itself
