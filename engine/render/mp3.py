"""MP3 encoding with ffmpeg: stereo 44.1 kHz, at the best bitrate that fits the upload cap.

ffmpeg reads the PCM from a pipe and writes the MP3 to a pipe, so no temporary file exists that a killed
worker could leave behind (pydub's export wrote a WAV and an MP3 to the temp folder). ffmpeg runs in its own
process group with a time limit, and is killed with the worker that started it, so a hung or failing ffmpeg
leaves no process behind either.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import numpy as np

BITRATES_KBPS = (192, 160, 128, 112, 96, 80, 64, 48, 32)
DEFAULT_CAP_BYTES = 8 * 1024 * 1024
LAME_SPEED = 7  # LAME's -q: 7 encodes twice as fast as the default 3, with no audible loss at these bitrates
# Encoding a 32-bar piece takes about a second; a minute means ffmpeg is stuck (the render's own limit is longer).
DEFAULT_ENCODE_TIMEOUT_S = 60.0


class UploadTooLargeError(ValueError):
    """Even the lowest bitrate would not fit the upload cap."""


class EncoderError(RuntimeError):
    """ffmpeg is missing, failed, or hung; the message says which, for the operator's log and the user."""


def _expected_bytes(kbps: int, seconds: float) -> float:
    return kbps * 1000 / 8 * seconds * 1.01 + 4096  # constant bitrate plus headers


def encode_mp3(audio: np.ndarray, sample_rate: int = 44100, cap_bytes: int = DEFAULT_CAP_BYTES,
               timeout_s: float = DEFAULT_ENCODE_TIMEOUT_S) -> bytes:
    """Float [samples, 2] audio in [-1, 1] to MP3 bytes no larger than `cap_bytes`.

    The bitrate is the highest of BITRATES_KBPS expected to fit; if the encoder still overshoots, the next
    lower one is tried. Raises UploadTooLargeError when the audio is too long even at 32 kbps, EncoderError
    when ffmpeg (the first on PATH) fails or runs longer than `timeout_s`.
    """
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"encode_mp3 needs stereo audio shaped [samples, 2], got {audio.shape}")
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    seconds = len(audio) / sample_rate
    for kbps in BITRATES_KBPS:
        if _expected_bytes(kbps, seconds) > cap_bytes and kbps != BITRATES_KBPS[-1]:
            continue
        data = run_ffmpeg(_mp3_arguments(sample_rate, kbps), pcm, timeout_s)
        if len(data) <= cap_bytes:
            return data
    raise UploadTooLargeError(
        f"{seconds:.0f} s of audio does not fit the {cap_bytes / 1024 / 1024:.1f} MiB upload cap even at "
        f"{BITRATES_KBPS[-1]} kbps; ask for fewer bars or raise upload_cap_bytes."
    )


def _mp3_arguments(sample_rate: int, kbps: int) -> list[str]:
    return [
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "2", "-i", "pipe:0",
        "-ar", "44100", "-ac", "2", "-codec:a", "libmp3lame", "-b:a", f"{kbps}k",
        "-compression_level", str(LAME_SPEED), "-f", "mp3", "pipe:1",
    ]  # fmt: skip


def run_ffmpeg(arguments: list[str], stdin: bytes, timeout_s: float) -> bytes:
    """ffmpeg's stdout for `arguments` with `stdin` piped in. Whatever happens, ffmpeg and anything it started
    are gone when this returns or raises."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise EncoderError("ffmpeg was not found on PATH; MP3 encoding needs it. Install it with `sudo apt-get install ffmpeg`.")
    from engine.service.processes import subprocess_dies_with_parent

    process = subprocess.Popen(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *arguments],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a timeout kills ffmpeg and anything it started
        preexec_fn=subprocess_dies_with_parent,
    )  # fmt: skip
    try:
        output, errors = process.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise EncoderError(f"ffmpeg did not finish encoding within {timeout_s:.0f} s, so it was stopped.") from None
    except BaseException:
        _kill_group(process)
        process.communicate()
        raise
    finally:
        _kill_group(process)  # a child ffmpeg left running (it has exited itself by now in the normal case)
    if process.returncode != 0:
        detail = errors.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        raise EncoderError(f"ffmpeg could not encode the MP3: {detail[0]}")
    return output


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["BITRATES_KBPS", "DEFAULT_CAP_BYTES", "EncoderError", "UploadTooLargeError", "encode_mp3", "run_ffmpeg"]
