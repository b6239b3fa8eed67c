"""Valence and arousal estimated from the music itself, for pieces whose source has no mood labels.

Cues from music-psychology findings: major mode, higher register and faster tempo read as more
positive (valence); faster tempo, denser notes and louder dynamics read as more excited (arousal).
The weights are fitted to the EMOPIA and VGMIDI labels (see fit_weights and docs/CORPUS.md, which
reports the agreement on each labelled set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.music import STEPS_PER_BEAT, Piece

FEATURE_NAMES = ("mode", "major_chords", "tempo", "density", "velocity", "register", "bias")


@dataclass(frozen=True)
class MoodWeights:
    valence: tuple[float, ...]
    arousal: tuple[float, ...]


# Hand-set from the literature before fitting; replaced by fitted weights when available.
DEFAULT_WEIGHTS = MoodWeights(
    valence=(0.45, 0.35, 0.15, 0.0, 0.0, 0.15, 0.0),
    arousal=(0.0, 0.0, 0.45, 0.4, 0.25, 0.1, 0.0),
)


def mood_features(piece: Piece) -> np.ndarray:
    """Standardised cues in roughly [-1, 1], in FEATURE_NAMES order."""
    beats = max(1, piece.total_steps // STEPS_PER_BEAT)
    pitched = piece.melody + piece.bass
    mode = 1.0 if piece.key.mode == "major" else -1.0
    chord_steps = {"maj": 0.0, "min": 0.0}
    for c in piece.harmony:
        if c.root is None:
            continue
        minor_third = c.quality.startswith(("min", "dim", "hdim"))
        chord_steps["min" if minor_third else "maj"] += c.duration
    total_chords = chord_steps["maj"] + chord_steps["min"]
    major_chords = (chord_steps["maj"] - chord_steps["min"]) / total_chords if total_chords else 0.0
    tempo = math.tanh((piece.tempo - 105.0) / 35.0)
    onsets = len({n.start for n in pitched})
    density = math.tanh((onsets / beats - 1.5) / 1.0)
    velocities = [n.velocity for n in pitched]
    velocity = math.tanh((float(np.mean(velocities)) - 75.0) / 20.0) if velocities else 0.0
    melody_pitches = [n.pitch for n in piece.melody]
    register = math.tanh((float(np.mean(melody_pitches)) - 68.0) / 8.0) if melody_pitches else 0.0
    return np.array([mode, major_chords, tempo, density, velocity, register, 1.0])


def estimate_valence_arousal(piece: Piece, weights: MoodWeights | None = None) -> tuple[float, float]:
    """(valence, arousal) in [-1, 1] from mode, harmony, tempo, note density, register and dynamics."""
    return valence_arousal_from_features(mood_features(piece), weights)


def valence_arousal_from_features(features: np.ndarray, weights: MoodWeights | None = None) -> tuple[float, float]:
    """The estimate from precomputed mood_features (the corpus build keeps features, so new weights need no re-parse)."""
    w = weights or FITTED_WEIGHTS
    f = np.asarray(features, dtype=float)
    valence = float(np.tanh(np.dot(w.valence, f)))
    arousal = float(np.tanh(np.dot(w.arousal, f)))
    return round(valence, 3), round(arousal, 3)


def fit_weights(features: np.ndarray, valence: np.ndarray, arousal: np.ndarray, ridge: float = 1.0) -> MoodWeights:
    """Least-squares weights (ridge-regularised) predicting the label signs from mood_features rows."""
    x = np.asarray(features, dtype=float)
    reg = ridge * np.eye(x.shape[1])
    reg[-1, -1] = 0.0  # do not shrink the bias

    def solve(y: np.ndarray) -> tuple[float, ...]:
        target = np.clip(np.asarray(y, dtype=float), -0.9, 0.9)
        w = np.linalg.solve(x.T @ x + reg, x.T @ np.arctanh(target))
        return tuple(round(float(v), 3) for v in w)

    return MoodWeights(valence=solve(valence), arousal=solve(arousal))


@dataclass(frozen=True)
class Agreement:
    n: int
    valence_sign: float
    arousal_sign: float
    quadrant: float


def agreement(predicted: np.ndarray, labelled: np.ndarray) -> Agreement:
    """Sign accuracy of valence and arousal and quadrant accuracy; rows are (valence, arousal)."""
    p, t = np.sign(np.asarray(predicted)), np.sign(np.asarray(labelled))
    p[p == 0] = 1
    v = float(np.mean(p[:, 0] == t[:, 0])) if len(t) else 0.0
    a = float(np.mean(p[:, 1] == t[:, 1])) if len(t) else 0.0
    q = float(np.mean((p == t).all(axis=1))) if len(t) else 0.0
    return Agreement(len(t), round(v, 3), round(a, 3), round(q, 3))


# Fitted on all 1,078 EMOPIA clips and 199 VGMIDI pieces by engine.data.mood_calibration.calibrate
# (`tunesmith data mood-agreement` re-fits and prints them). EMOPIA's files all say 120 bpm, so the
# tempo weight comes from VGMIDI; agreement measured on held-out pieces is in docs/CORPUS.md.
FITTED_WEIGHTS = MoodWeights(
    valence=(0.241, 0.226, -0.069, -0.036, 0.002, -0.027, -0.054),
    arousal=(0.03, -0.19, 0.718, 0.501, 0.53, 0.059, -0.181),
)
