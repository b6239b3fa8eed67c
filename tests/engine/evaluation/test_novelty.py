from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.styled_corpus import synthetic_piece

from engine.evaluation.novelty import NoveltyIndex, melody_events, ngram_hashes, piece_melody
from engine.music import Note, Piece
from engine.postprocess import decode_in_key
from engine.tokens import encode


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


def test_the_check_from_tokens_equals_the_check_of_the_piece_in_any_key(training):
    """Generation checks the melody tokens it already has instead of the finished piece (transposed to its
    key and folded into the instrument range, then encoded back): the answers must be the same."""
    index = _index(training)
    quotes = [_copy(training[k], first_bar=k % 6, bars=2 + k % 4, transpose=k % 12 - 5, at_bar=k % 4, filler_seed=50 + k) for k in range(12)]
    fresh = [synthetic_piece(style, seed=900 + k, bars=8) for k, style in enumerate(("jazz", "folk", "rock") * 2)]
    answers = []
    for piece in quotes + fresh:
        tokens = encode(piece)
        for shift in range(-5, 7):
            in_key = decode_in_key(tokens, shift, 120.0)  # the generated piece's path: transposed, then clamped
            answers.append(index.longest_shared_bars(in_key))
            assert index.longest_shared_bars_of_tokens(tokens.melody) == answers[-1], (piece, shift)
    assert max(answers) >= 2.0 and min(answers) < 2.0  # copies and non-copies were both checked


def _loop_longest_shared(index: NoveltyIndex, onsets, pitches):
    """The search as first written: one index lookup per n-gram."""

    def pieces_with(h):
        return index.pieces[np.searchsorted(index.hashes, h, side="left"):np.searchsorted(index.hashes, h, side="right")]

    hashes = ngram_hashes(melody_events(onsets, pitches), index.ngram)
    best, best_piece, i = 0.0, None, 0
    while i < len(hashes):
        candidates = pieces_with(hashes[i])
        if len(candidates) == 0:
            i += 1
            continue
        j = i
        while j + 1 < len(hashes):
            nxt = np.intersect1d(candidates, pieces_with(hashes[j + 1]), assume_unique=True)
            if len(nxt) == 0:
                break
            candidates, j = nxt, j + 1
        bars = ((onsets[j + index.ngram] - onsets[i]) + 1) / 16
        if bars > best:
            best, best_piece = float(bars), int(candidates[0])
        i = j + 1 if j > i else i + 1
    return round(best, 3), best_piece


def test_the_batched_index_lookup_matches_one_lookup_per_ngram(training):
    # pieces sharing n-grams, so that runs have several candidates that narrow down
    index = _index(training + [_copy(training[k], 0, 6, 0, 1, filler_seed=k) for k in range(0, 20, 3)])
    queries = [_copy(training[k], first_bar=k % 6, bars=1 + k % 5, transpose=0, at_bar=k % 4, filler_seed=70 + k) for k in range(20)]
    results = [index.longest_shared(*piece_melody(q)) for q in queries]
    assert results == [_loop_longest_shared(index, *piece_melody(q)) for q in queries]
    assert any(piece is not None for _, piece in results)
