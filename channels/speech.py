"""Mandarin speech for loudspeakers: espeak-ng, voice cmn-latn-pinyin, 22,050 Hz mono WAV.

The plain `cmn` voice reads tone digits in English (shared/RECIPES.md). espeak-ng runs as a
subprocess so the event loop never waits on it; it writes to a temporary file because a WAV
written to stdout carries no lengths in its header.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
import wave
from pathlib import Path

BINARY = "espeak-ng"
VOICE = "cmn-latn-pinyin"
TIMEOUT = 60.0  # seconds; a warning text takes espeak-ng well under one


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
