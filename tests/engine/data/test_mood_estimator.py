from __future__ import annotations

from dataclasses import replace

import numpy as np
from tests.helpers.data_pieces import scale_piece

from engine.data.mood import FEATURE_NAMES, agreement, estimate_valence_arousal, fit_weights, mood_features
from engine.music import Chord, Key, Note


def test_minor_mode_and_minor_chords_lower_valence():
    major = scale_piece(key=Key(0, "major"))
    minor = replace(scale_piece(key=Key(9, "minor")), harmony=[Chord(9, "min", b * 16, 16) for b in range(8)])
    assert estimate_valence_arousal(minor)[0] < estimate_valence_arousal(major)[0]


def test_fast_dense_loud_music_has_higher_arousal():
    calm = replace(scale_piece(tempo=60.0), melody=[Note(n.pitch, n.start * 2, 8, 50) for n in scale_piece().melody[::4]])
    busy = replace(scale_piece(tempo=170.0), melody=[Note(60 + i % 7, i, 1, 120) for i in range(128)])
    assert estimate_valence_arousal(busy)[1] > estimate_valence_arousal(calm)[1] + 0.3
    v, a = estimate_valence_arousal(busy)
    assert -1 <= v <= 1 and -1 <= a <= 1


def test_fitting_recovers_a_linear_rule_and_agreement_counts_signs():
    rng = np.random.default_rng(0)
    x = np.hstack([rng.uniform(-1, 1, size=(200, len(FEATURE_NAMES) - 1)), np.ones((200, 1))])
    valence, arousal = np.sign(x[:, 0]) * 0.6, np.sign(x[:, 2]) * 0.6
    w = fit_weights(x, valence, arousal)
    pred = np.stack([np.tanh(x @ np.array(w.valence)), np.tanh(x @ np.array(w.arousal))], axis=1)
    result = agreement(pred, np.stack([valence, arousal], axis=1))
    assert result.valence_sign > 0.9 and result.arousal_sign > 0.9 and result.quadrant > 0.8 and result.n == 200


def test_features_are_bounded():
    f = mood_features(scale_piece())
    assert f.shape == (len(FEATURE_NAMES),) and np.all(np.abs(f) <= 1.0)
