from __future__ import annotations

import numpy as np
import pytest
from tests.engine.evaluation.styled_corpus import synthetic_piece

from engine.evaluation.novelty import NoveltyIndex, piece_melody
from engine.music import Note, Piece


def _index(pieces):
    return NoveltyIndex.build((i, *piece_melody(p)) for i, p in enumerate(pieces))


def _copy(source: Piece, first_bar: int, bars: int, transpose: int, at_bar: int, filler_seed: int) -> Piece:
    """A 8-bar piece of fresh notes with `bars` bars of `source`'s melody (transposed) pasted at `at_bar`."""
    filler = synthetic_piece("rock", seed=filler_seed, bars=8)
    lo, hi = first_bar * 16, (first_bar + bars) * 16
    pasted = [Note(n.pitch + transpose, n.start - lo + at_bar * 16, n.duration) for n in source.melody if lo <= n.start < hi]
    keep = [n for n in filler.melody if not at_bar * 16 <= n.start < (at_bar + bars) * 16]
    return Piece(bars=8, melody=sorted(keep + pasted, key=lambda n: n.start))


@pytest.fixture(scope="module")
def training():
    return [synthetic_piece(style, seed=s, bars=12) for style in ("jazz", "folk") for s in range(10)]


def test_a_transposed_three_bar_quote_is_found(training):
    index = _index(training)
    quote = _copy(training[3], first_bar=2, bars=3, transpose=5, at_bar=3, filler_seed=777)
    shared = index.longest_shared_bars(quote)
    assert 2.5 <= shared <= 3.5
    assert index.is_copy(quote)


def test_unrelated_music_shares_little(training):
    index = _index(training)
    fresh = [synthetic_piece("rock", seed=500 + k, bars=8) for k in range(5)]
    assert all(index.longest_shared_bars(p) < 2 for p in fresh)


def test_runs_are_not_stitched_from_two_pieces(training):
    a, b = training[1], training[12]
    stitched = Piece(bars=8, melody=[n for n in a.melody if n.start < 24] + [Note(n.pitch, n.start - 24 + 24, n.duration) for n in b.melody if 24 <= n.start < 48])
    index = _index(training)
    bars, piece_id = index.longest_shared(*piece_melody(stitched))
    assert bars < 2.0  # each half alone is 1.5 bars
    assert piece_id in (1, 12)


def test_save_and_load_give_the_same_answers(training, tmp_path):
    index = _index(training)
    path = index.save(tmp_path / "novelty.npz")
    loaded = NoveltyIndex.load(path)
    quote = _copy(training[5], 0, 4, -2, 2, filler_seed=9)
    assert loaded.longest_shared_bars(quote) == index.longest_shared_bars(quote) >= 3.5
    assert len(loaded) == len(index) and loaded.ngram == index.ngram
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a novelty index"):
        NoveltyIndex.load(tmp_path / "bad.npz")


def test_from_cache_uses_only_the_training_split(corpus):
    index = NoveltyIndex.from_cache(corpus, "train")
    test_piece = int(corpus.piece[np.flatnonzero(corpus.split_mask("test"))[0]])
    train_piece = int(corpus.piece[np.flatnonzero(corpus.split_mask("train"))[0]])
    assert test_piece not in set(index.pieces.tolist())
    assert train_piece in set(index.pieces.tolist())
