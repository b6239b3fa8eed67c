from __future__ import annotations

import math

import pytest

from engine.evaluation.metrics import (
    METRIC_NAMES, compute_metrics, empty_beat_rate, groove_consistency, mean_metrics, pitch_class_entropy, pitch_entropy, pitch_range,
    polyphony, scale_consistency,
)
from engine.music import Chord, Note, Piece


def _piece(melody, harmony=(), bars=1, bass=()):
    return Piece(bars=bars, melody=list(melody), harmony=list(harmony), bass=list(bass))


def test_entropies_of_one_pitch_and_of_two_equally_used_pitches():
    one = _piece([Note(60, 0, 4), Note(60, 4, 4)])
    two = _piece([Note(60, 0, 4), Note(62, 4, 4)])
    assert pitch_entropy(one) == 0.0 and pitch_class_entropy(one) == 0.0
    assert pitch_entropy(two) == pytest.approx(1.0)
    octave = _piece([Note(60, 0, 4), Note(72, 4, 4)])
    assert pitch_entropy(octave) == pytest.approx(1.0) and pitch_class_entropy(octave) == 0.0


def test_scale_consistency():
    c_major = _piece([Note(p, i * 2, 2) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72))])
    assert scale_consistency(c_major) == 1.0
    chromatic = _piece([Note(60 + i, i, 1) for i in range(12)])
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)
    assert math.isnan(scale_consistency(_piece([])))


def test_groove_consistency_is_one_for_a_repeated_rhythm_and_lower_otherwise():
    steady = _piece([Note(60, b * 16 + s, 2) for b in range(4) for s in (0, 4, 8, 12)], bars=4)
    assert groove_consistency(steady) == 1.0
    varied = _piece([Note(60, 0, 2), Note(60, 16 + 3, 2), Note(60, 32 + 7, 2), Note(60, 48 + 11, 2)], bars=4)
    assert groove_consistency(varied) < 1.0


def test_empty_beats_polyphony_and_range():
    piece = _piece([Note(60, 0, 4), Note(67, 8, 4)], harmony=[Chord(0, "maj", 0, 8)])
    assert empty_beat_rate(piece) == pytest.approx(0.5)  # beats 2 and 4 are silent in the melody
    assert polyphony(piece) == pytest.approx((4 * 4 + 4 * 3 + 4 * 1) / 12)  # melody+triad, triad alone, melody alone
    assert pitch_range(piece) == 7.0


def test_compute_and_mean_metrics_cover_every_name():
    pieces = [_piece([Note(60 + i, i * 4, 4) for i in range(4)]), _piece([])]
    assert set(compute_metrics(pieces[0])) == set(METRIC_NAMES)
    means = mean_metrics(pieces)
    assert means["pitch_range"] == pytest.approx(1.5)  # 3 and 0
    assert all(math.isnan(v) for v in mean_metrics([]).values())
