"""Loudness normalisation to an integrated LUFS target that follows the mood, with a look-ahead limiter holding the ceiling."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from engine.labels import MOODS

TARGET_LUFS = -16.0  # a mood of no particular arousal, and audio whose mood is unknown
CEILING_DBFS = -1.0
# Normalising every piece to one level would undo the arranger's dynamics (calm plays softly, energetic hard).
# LU per unit of arousal: calm (-0.7) sits at -17.75 LUFS and energetic (0.9) at -13.75, 4 LU apart; even the
# loudest sits near the -14 LUFS that streaming services play at, with room under the -1 dBFS ceiling.
LU_PER_AROUSAL = 2.5


def target_lufs(mood: str | None) -> float:
    """The integrated loudness a piece in this mood is normalised to; TARGET_LUFS for an unknown mood."""
    known = MOODS.get(mood or "")
    return TARGET_LUFS if known is None else TARGET_LUFS + LU_PER_AROUSAL * known.arousal


def limit(audio: np.ndarray, sample_rate: int, ceiling_dbfs: float = CEILING_DBFS, lookahead_s: float = 0.005) -> np.ndarray:
    """Turn down only the moments that would pass the ceiling, with a smooth gain that starts early.

    The gain is the minimum needed over a window, then averaged over half that window, so it is never above
    what any sample needs (peaks stay under the ceiling) and it ramps over milliseconds instead of clicking.
    """
    ceiling = 10 ** (ceiling_dbfs / 20)
    if audio.size == 0 or np.abs(audio).max() <= ceiling:
        return audio
    peak = np.maximum(np.abs(audio[:, 0]), np.abs(audio[:, 1])) if audio.shape[1] == 2 else np.abs(audio).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    half = max(1, int(lookahead_s * sample_rate))
    gain = uniform_filter1d(minimum_filter1d(need, size=2 * half + 1), size=half + 1)
    out = audio * gain[:, None].astype(audio.dtype)
    return np.clip(out, -ceiling, ceiling)  # guards the last float rounding


def normalise(audio: np.ndarray, sample_rate: int, target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """Gain to the target integrated loudness, then limit the peaks to -1 dBFS. Silence is returned as it is."""
    meter = pyloudnorm.Meter(sample_rate)
    loudness = meter.integrated_loudness(audio)
    if not np.isfinite(loudness):
        return audio
    out = limit(audio * np.float32(10 ** ((target_lufs - loudness) / 20)), sample_rate)
    # Limiting took a little loudness away. The weighting filters are linear, so the loss is close to the
    # drop in mean power; give it back once and limit again (cheaper than measuring a second time).
    before = float(np.mean(np.square(audio, dtype=np.float64))) * 10 ** ((target_lufs - loudness) / 10)
    after = float(np.mean(np.square(out, dtype=np.float64)))
    if after > 0 and after < before * 0.93:
        out = limit(out * np.float32(np.sqrt(before / after)), sample_rate)
    return out


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")
