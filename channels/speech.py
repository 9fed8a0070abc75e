"""Mandarin speech for loudspeakers: espeak-ng, voice cmn-latn-pinyin, 22,050 Hz mono WAV,
encoded to MP3 (AuxiliaryType 2, the one type every platform confirms) and cached on disk.

The plain `cmn` voice reads tone digits in English (shared/RECIPES.md). espeak-ng runs as a
subprocess so the event loop never waits on it; it writes to a temporary file because a WAV
written to stdout carries no lengths in its header.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import shutil
import tempfile
import wave
from pathlib import Path

import lameenc
from mutagen import MutagenError
from mutagen.mp3 import MP3

from channels.base import Audio

log = logging.getLogger(__name__)

BINARY = "espeak-ng"
VOICE = "cmn-latn-pinyin"
TIMEOUT = 60.0  # seconds; a warning text takes espeak-ng well under one
FORMATS = ("mp3", "wav")
MP3_KBPS = 32


class SpeechError(Exception):
    """espeak-ng ran but produced no usable WAV."""


class SpeechUnavailable(SpeechError):
    """espeak-ng is not installed on this machine."""


async def speak(text: str) -> bytes:
    """The WAV bytes of `text` spoken in Mandarin."""
    if not text.strip():
        raise SpeechError("nothing to speak: the text is empty")
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="ewb-speech-"))
    try:
        out = folder / "speech.wav"
        await _run(out, text)
        audio = await asyncio.to_thread(out.read_bytes)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    _check_wav(audio)
    return audio


async def _run(out: Path, text: str) -> None:
    # The text goes in on stdin (-b 1: UTF-8), so a text starting with "-" is never an option.
    args = ["-v", VOICE, "-b", "1", "-w", str(out), "--stdin"]
    try:
        process = await asyncio.create_subprocess_exec(
            BINARY,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as e:
        raise SpeechUnavailable("espeak-ng is not installed; apt-get install espeak-ng") from e
    except OSError as e:
        raise SpeechError(f"cannot run espeak-ng: {e}") from e
    try:
        _, stderr = await asyncio.wait_for(process.communicate(text.encode()), TIMEOUT)
    except BaseException as e:  # timed out or cancelled: never leave espeak-ng running
        if process.returncode is None:
            process.kill()
            await process.wait()
        if isinstance(e, TimeoutError):
            raise SpeechError(f"espeak-ng took longer than {TIMEOUT:g} s") from None
        raise
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip() or "no message"
        raise SpeechError(f"espeak-ng failed (exit {process.returncode}): {message}")


def _check_wav(audio: bytes) -> None:
    try:
        with wave.open(io.BytesIO(audio)) as wav:
            frames = wav.getnframes()
    except (wave.Error, EOFError) as e:
        raise SpeechError(f"espeak-ng wrote no valid WAV: {e}") from e
    if frames == 0:
        raise SpeechError("espeak-ng wrote an empty WAV")


async def spoken(text: str, folder: Path, audio_format: str = "mp3") -> Audio:
    """`text` spoken, as MP3 (mono, 32 kbit/s) or WAV, from the cache in `folder` when it
    was spoken before: one file per text, voice and format, named by their SHA-256.

    The file is written to a temporary name and renamed, so a reader never sees half a
    file; one that is unreadable all the same (a damaged disk, a hand edit) is made again.
    """
    if audio_format not in FORMATS:
        raise ValueError(f"audio format {audio_format!r} is not one of {', '.join(FORMATS)}")
    key = hashlib.sha256(f"{VOICE}\n{audio_format}\n{text}".encode()).hexdigest()
    path = folder / f"{key}.{audio_format}"
    cached = await asyncio.to_thread(_read_valid, path, audio_format)
    if cached is not None:
        return Audio(cached, audio_format)
    wav = await speak(text)
    data = wav if audio_format == "wav" else await asyncio.to_thread(to_mp3, wav)
    await asyncio.to_thread(_write_atomic, path, data)
    return Audio(data, audio_format)


def to_mp3(wav: bytes) -> bytes:
    """A mono 16-bit WAV as MP3 at MP3_KBPS: speech needs no more, and a package stays
    small enough for the platform's upload limit."""
    with wave.open(io.BytesIO(wav)) as source:
        if source.getnchannels() != 1 or source.getsampwidth() != 2:
            raise SpeechError("only mono 16-bit speech is encoded to MP3")
        rate, pcm = source.getframerate(), source.readframes(source.getnframes())
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm) + encoder.flush())


def mp3_seconds(data: bytes) -> float:
    """The length of an MP3 in seconds; SpeechError when it is not one."""
    try:
        info = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
    except MutagenError as e:
        raise SpeechError(f"not an MP3: {e}") from e
    seconds = float(getattr(info, "length", 0))
    if not data.startswith(b"\xff") or seconds <= 0:
        raise SpeechError("not an MP3: no frame at the start")
    return seconds


def _read_valid(path: Path, audio_format: str) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        if audio_format == "mp3":
            mp3_seconds(data)
        else:
            _check_wav(data)
    except SpeechError as e:
        log.warning("speech cache %s is unreadable (%s); speaking again", path.name, e)
        return None
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
