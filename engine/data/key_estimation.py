"""Key estimation from notes (Krumhansl-Kessler profiles), for sources that do not annotate their key."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.music import Chord, Key, Note

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def pitch_class_histogram(notes: Iterable[Note], chords: Iterable[Chord] = ()) -> np.ndarray:
    """Duration-weighted pitch-class histogram of notes, plus chord tones (one beat's weight per chord step)."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += max(1, n.duration)
    for c in chords:
        for pc in c.pitch_classes():
            hist[pc] += 0.5 * c.duration
    return hist


def estimate_key(notes: Iterable[Note], chords: Iterable[Chord] = ()) -> Key:
    """The major or minor key whose profile correlates best with the notes (C major when there are none)."""
    hist = pitch_class_histogram(notes, chords)
    if hist.sum() == 0:
        return Key(0, "major")
    best, best_r = Key(0, "major"), -2.0
    for tonic in range(12):
        rolled = np.roll(hist, -tonic)
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = float(np.corrcoef(rolled, profile)[0, 1]) if rolled.std() > 0 else 0.0
            if r > best_r:
                best, best_r = Key(tonic, mode), r
    return best
