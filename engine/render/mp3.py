"""MP3 encoding with pydub and ffmpeg: stereo 44.1 kHz, at the best bitrate that fits the upload cap."""

from __future__ import annotations

import io

import numpy as np
from pydub import AudioSegment

BITRATES_KBPS = (192, 160, 128, 112, 96, 80, 64, 48, 32)
DEFAULT_CAP_BYTES = 8 * 1024 * 1024
LAME_SPEED = 7  # LAME's -q: 7 encodes twice as fast as the default 3, with no audible loss at these bitrates


class UploadTooLargeError(ValueError):
    """Even the lowest bitrate would not fit the upload cap."""


def _expected_bytes(kbps: int, seconds: float) -> float:
    return kbps * 1000 / 8 * seconds * 1.01 + 4096  # constant bitrate plus headers


def encode_mp3(audio: np.ndarray, sample_rate: int = 44100, cap_bytes: int = DEFAULT_CAP_BYTES) -> bytes:
    """Float [samples, 2] audio in [-1, 1] to MP3 bytes no larger than `cap_bytes`.

    The bitrate is the highest of BITRATES_KBPS expected to fit; if the encoder still overshoots, the next
    lower one is tried. Raises UploadTooLargeError when the audio is too long even at 32 kbps.
    """
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"encode_mp3 needs stereo audio shaped [samples, 2], got {audio.shape}")
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    segment = AudioSegment(data=pcm, sample_width=2, frame_rate=sample_rate, channels=2)
    if sample_rate != 44100:
        segment = segment.set_frame_rate(44100)
    seconds = len(audio) / sample_rate
    for kbps in BITRATES_KBPS:
        if _expected_bytes(kbps, seconds) > cap_bytes and kbps != BITRATES_KBPS[-1]:
            continue
        buffer = io.BytesIO()
        segment.export(buffer, format="mp3", bitrate=f"{kbps}k", parameters=["-ar", "44100", "-ac", "2", "-compression_level", str(LAME_SPEED)])
        data = buffer.getvalue()
        if len(data) <= cap_bytes:
            return data
    raise UploadTooLargeError(
        f"{seconds:.0f} s of audio does not fit the {cap_bytes / 1024 / 1024:.1f} MiB upload cap even at "
        f"{BITRATES_KBPS[-1]} kbps; ask for fewer bars or raise upload_cap_bytes."
    )
