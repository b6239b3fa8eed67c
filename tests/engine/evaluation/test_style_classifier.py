from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.styled_corpus import synthetic_piece

from engine.evaluation.evaluate import train_style_classifier
from engine.evaluation.features import N_FEATURES, cache_features, piece_features
from engine.evaluation.style_classifier import StyleClassifier


def test_features_have_a_fixed_length_and_ignore_the_key():
    piece = synthetic_piece("folk", seed=1)  # a melody inside the token range, so no octave folding
    f = piece_features(piece)
    assert f.shape == (N_FEATURES,)
    moved = piece_features(piece.transposed(3))
    # Histograms are relative to the tonic; only the register summaries may move (by the octave the normalisation picks).
    assert np.allclose(f[:-8], moved[:-8], atol=1e-6)


def test_trained_on_train_split_it_recognises_held_out_styles(corpus):
    clf = train_style_classifier(corpus)
    test = np.flatnonzero(corpus.split_mask("test"))
    pred = clf.predict(cache_features(corpus.melody[test], corpus.chords[test]))
    assert np.mean(pred == corpus.style[test]) > 0.9
    assert clf.predict_piece(synthetic_piece("folk", seed=99999)) == "folk"


def test_save_load_round_trip(corpus, tmp_path):
    clf = train_style_classifier(corpus)
    loaded = StyleClassifier.load(clf.save(tmp_path / "clf.npz"))
    feats = cache_features(corpus.melody[:20], corpus.chords[:20])
    assert np.array_equal(loaded.predict(feats), clf.predict(feats))
    assert loaded.styles == clf.styles and loaded.fingerprint == clf.fingerprint
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a style classifier"):
        StyleClassifier.load(tmp_path / "junk.npz")


def test_a_style_without_training_data_is_never_predicted(corpus):
    train = np.flatnonzero(corpus.split_mask("train"))
    feats = cache_features(corpus.melody[train], corpus.chords[train])
    clf = StyleClassifier.fit(feats, corpus.style[train].astype(int), ["jazz", "folk", "rock", "game"])
    assert 3 not in set(clf.predict(feats).tolist())
    with pytest.raises(ValueError, match="no training data"):
        StyleClassifier.fit(np.zeros((0, N_FEATURES)), np.zeros(0, int), ["jazz"])
