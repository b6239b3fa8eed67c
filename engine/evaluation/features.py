"""A fixed-length feature vector per piece (or cache segment) for the style classifier.

Features describe what the composition models produce, melody and harmony, and leave out what the
arranger decides (tempo, drums, bass presence), so that generated pieces are judged on the same
ground as real ones. Everything is computed on token arrays (engine.tokens), so cache segments
need no decoding and a Piece is encoded first.
"""

from __future__ import annotations

import numpy as np

from engine.music import Meter, Piece
from engine.tokens import FIRST_PITCH_TOKEN, HOLD, MELODY_LOW, MODEL_QUALITIES, REST, STEPS_PER_BAR, encode

_DURATION_BINS = np.array([1, 2, 3, 4, 6, 8, 12, 16])
_INTERVAL_RANGE = 12  # intervals clipped to [-12, 12]
N_FEATURES = 12 + (2 * _INTERVAL_RANGE + 1) + len(_DURATION_BINS) + 16 + 12 + (len(MODEL_QUALITIES) + 1) + 8


def _melody_events(melody: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onset steps, pitches and durations (to the next onset or rest) of a melody token line."""
    onsets = np.flatnonzero(melody >= FIRST_PITCH_TOKEN)
    pitches = melody[onsets].astype(int) - FIRST_PITCH_TOKEN + MELODY_LOW
    durations = np.zeros(len(onsets), dtype=int)
    for i, s in enumerate(onsets):
        end = s + 1
        while end < len(melody) and melody[end] == HOLD:
            end += 1
        durations[i] = end - s
    return onsets, pitches, durations


def _normalised(hist: np.ndarray) -> np.ndarray:
    total = hist.sum()
    return hist / total if total > 0 else hist


def token_features(melody: np.ndarray, chords: np.ndarray) -> np.ndarray:
    """Features of one key-normalised token segment: melody [T] and chords [T/4] (engine.tokens layout)."""
    melody = np.asarray(melody)
    chords = np.asarray(chords)
    onsets, pitches, durations = _melody_events(melody)
    pc = _normalised(np.bincount(pitches % 12, minlength=12).astype(float))
    intervals = np.clip(np.diff(pitches), -_INTERVAL_RANGE, _INTERVAL_RANGE) + _INTERVAL_RANGE if len(pitches) > 1 else np.array([], int)
    iv = _normalised(np.bincount(intervals, minlength=2 * _INTERVAL_RANGE + 1).astype(float))
    dur_idx = np.searchsorted(_DURATION_BINS, np.minimum(durations, 16))
    du = _normalised(np.bincount(dur_idx, minlength=len(_DURATION_BINS)).astype(float))
    pos = _normalised(np.bincount(onsets % STEPS_PER_BAR, minlength=16).astype(float))
    sounding_chords = chords[chords > 0].astype(int) - 1
    roots = _normalised(np.bincount(sounding_chords // len(MODEL_QUALITIES), minlength=12).astype(float))
    qualities = np.bincount(np.where(chords > 0, (chords.astype(int) - 1) % len(MODEL_QUALITIES) + 1, 0), minlength=len(MODEL_QUALITIES) + 1)
    qu = _normalised(qualities.astype(float))
    bars = max(1, len(melody) / STEPS_PER_BAR)
    changes = float(np.sum(chords[1:] != chords[:-1])) / bars if len(chords) > 1 else 0.0
    summary = np.array([
        len(onsets) / bars / 16.0,  # note density (onsets per step)
        float(np.mean(melody == REST)),  # rest fraction
        (pitches.mean() - 66.0) / 12.0 if len(pitches) else 0.0,
        pitches.std() / 12.0 if len(pitches) else 0.0,
        (pitches.max() - pitches.min()) / 24.0 if len(pitches) else 0.0,
        float(np.mean(np.abs(np.diff(pitches)) > 4)) if len(pitches) > 1 else 0.0,  # leap fraction
        changes / 4.0,  # chord changes per bar
        float(np.mean(onsets % 2 == 1)) if len(onsets) else 0.0,  # off-8th onsets: 16th-note syncopation
    ])
    return np.concatenate([pc, iv, du, pos, roots, qu, summary]).astype(np.float32)


def piece_features(piece: Piece) -> np.ndarray:
    """Features of a 4/4 piece in any key (it is key-normalised and encoded first)."""
    if piece.meter != Meter(4, 4):
        raise ValueError("style features need a 4/4 piece")
    normal, _ = piece.normalised()
    enc = encode(normal)
    return token_features(enc.melody, enc.chords)


def cache_features(melody: np.ndarray, chords: np.ndarray) -> np.ndarray:
    """Features of many cache segments: melody [N, T], chords [N, T/4] -> [N, N_FEATURES]."""
    return np.stack([token_features(m, c) for m, c in zip(melody, chords)]) if len(melody) else np.zeros((0, N_FEATURES), np.float32)
