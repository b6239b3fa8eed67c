"""muspy-style objective metrics computed on Piece objects (no muspy dependency).

Definitions follow muspy (Dong et al., 2020) on our grid: all pitched notes (melody, bass and the
chord symbols voiced in close position) count as the piece's notes; drums are ignored.
"""

from __future__ import annotations

import math

import numpy as np

from engine.data.midi import chord_voicing
from engine.music import STEPS_PER_BEAT, Note, Piece

METRIC_NAMES = (
    "pitch_entropy",
    "pitch_class_entropy",
    "scale_consistency",
    "groove_consistency",
    "empty_beat_rate",
    "polyphony",
    "pitch_range",
)

_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def _pitched_notes(piece: Piece) -> list[Note]:
    chords = [Note(p, c.start, c.duration, 64) for c in piece.harmony for p in chord_voicing(c)]
    return list(piece.melody) + list(piece.bass) + chords


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def pitch_entropy(piece: Piece) -> float:
    """Shannon entropy (bits) of the pitch histogram."""
    notes = _pitched_notes(piece)
    return _entropy(np.bincount([n.pitch for n in notes], minlength=128).astype(float)) if notes else 0.0


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy (bits) of the pitch-class histogram."""
    notes = _pitched_notes(piece)
    return _entropy(np.bincount([n.pitch % 12 for n in notes], minlength=12).astype(float)) if notes else 0.0


def scale_consistency(piece: Piece) -> float:
    """Largest fraction of notes that fit one major (or its relative minor) scale."""
    notes = _pitched_notes(piece)
    if not notes:
        return math.nan
    pcs = np.bincount([n.pitch % 12 for n in notes], minlength=12)
    best = max(sum(pcs[(t + s) % 12] for s in _MAJOR) for t in range(12))
    return float(best / pcs.sum())


def groove_consistency(piece: Piece) -> float:
    """1 - mean Hamming distance between consecutive bars' onset patterns (all pitched notes)."""
    spb = piece.steps_per_bar
    if piece.bars < 2:
        return math.nan
    grid = np.zeros((piece.bars, spb), dtype=bool)
    for n in list(piece.melody) + list(piece.bass):
        if 0 <= n.start < piece.total_steps:
            grid[n.start // spb, n.start % spb] = True
    distances = np.mean(grid[1:] != grid[:-1], axis=1)
    return float(1.0 - distances.mean())


def empty_beat_rate(piece: Piece) -> float:
    """Fraction of beats with no sounding melody or bass note."""
    beats = piece.total_steps // STEPS_PER_BEAT
    if beats == 0:
        return math.nan
    sounding = np.zeros(beats, dtype=bool)
    for n in list(piece.melody) + list(piece.bass):
        lo, hi = n.start // STEPS_PER_BEAT, (max(n.start + 1, n.end) - 1) // STEPS_PER_BEAT
        sounding[max(0, lo): min(beats, hi + 1)] = True
    return float(1.0 - sounding.mean())


def polyphony(piece: Piece) -> float:
    """Mean number of pitches sounding on steps where at least one sounds."""
    steps = piece.total_steps
    if steps == 0:
        return math.nan
    count = np.zeros(steps, dtype=int)
    for n in _pitched_notes(piece):
        count[max(0, n.start): min(steps, n.end)] += 1
    active = count[count > 0]
    return float(active.mean()) if len(active) else 0.0


def pitch_range(piece: Piece) -> float:
    """Highest minus lowest melody pitch in semitones (the melody is what listeners follow)."""
    pitches = [n.pitch for n in piece.melody]
    return float(max(pitches) - min(pitches)) if pitches else 0.0


_FUNCTIONS = {
    "pitch_entropy": pitch_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "groove_consistency": groove_consistency,
    "empty_beat_rate": empty_beat_rate,
    "polyphony": polyphony,
    "pitch_range": pitch_range,
}


def compute_metrics(piece: Piece) -> dict[str, float]:
    """Every metric of METRIC_NAMES for one piece (NaN where undefined, e.g. no notes)."""
    return {name: _FUNCTIONS[name](piece) for name in METRIC_NAMES}


def mean_metrics(pieces: list[Piece]) -> dict[str, float]:
    """Per-metric mean over pieces, ignoring NaNs."""
    if not pieces:
        return {name: math.nan for name in METRIC_NAMES}
    rows = [compute_metrics(p) for p in pieces]
    out = {}
    for name in METRIC_NAMES:
        values = np.array([r[name] for r in rows], dtype=float)
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
    return out
