"""/retrain's training set: no member's ratings weigh more than their capped share, and too few raters is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.cache import SEGMENT_STEPS
from engine.finetune import FinetuneError, member_shares, member_weights, rated_segments, rating_weight

STYLES = ["jazz", "pop"]


def write_export(path: Path, ratings: list[tuple[int, int, int]]) -> Path:
    """A ratings export as storage.export writes it: one row per (user, track, score), 8 bars of notes per track."""
    rows = len(ratings)
    melody = np.tile((np.arange(SEGMENT_STEPS) % 12 + 60).astype(np.int16), rows)
    chords = np.ones(rows * SEGMENT_STEPS // 4, np.int16)
    np.savez(
        path,
        user_ids=np.array([u for u, _, _ in ratings], np.int64),
        track_ids=np.array([t for _, t, _ in ratings], np.int64),
        scores=np.array([s for _, _, s in ratings], np.float32),
        styles=np.array([STYLES[t % 2] for _, t, _ in ratings]),
        moods=np.array(["calm"] * rows),
        tempos=np.full(rows, 100.0, np.float32),
        **{
            "tokens/melody": melody,
            "tokens/melody/offsets": np.arange(rows + 1, dtype=np.int64) * SEGMENT_STEPS,
            "tokens/chords": chords,
            "tokens/chords/offsets": np.arange(rows + 1, dtype=np.int64) * (SEGMENT_STEPS // 4),
        },
    )
    return path


def test_a_dominant_member_is_capped_and_the_others_keep_their_weight() -> None:
    users = np.array([1] * 94 + [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7])  # 94 of 105 ratings are member 1's
    weights = member_weights(users, max_share=0.2)
    shares = member_shares(users, weights)
    assert member_shares(users)[1] > 0.89
    assert shares[1] == pytest.approx(0.2)
    assert max(shares.values()) <= 0.2 + 1e-6
    # Everyone else keeps weight in proportion to how much they rated.
    assert shares[2] == pytest.approx(2 * shares[7])
    assert weights.mean() == pytest.approx(1.0)


def test_with_too_few_members_for_the_cap_each_weighs_the_same() -> None:
    users = np.array([1] * 30 + [2] * 3 + [3])
    shares = member_shares(users, member_weights(users, max_share=0.2))
    assert list(shares.values()) == pytest.approx([1 / 3] * 3)
    assert member_shares(users, member_weights(users, max_share=0.9))[1] == pytest.approx(30 / 34)  # under the cap: untouched


def test_rated_segments_follow_the_capped_weights(tmp_path: Path) -> None:
    # Member 1 rates tracks 0-9 a 5 (half of all ratings); five others rate track 0 a 1 and one track each a 3.
    ratings = [(1, t, 5) for t in range(10)] + [(u, 0, 1) for u in range(2, 7)] + [(u, 10 + u, 3) for u in range(2, 7)]
    segments = rated_segments(write_export(tmp_path / "ratings.npz", ratings), STYLES, max_member_share=0.2, min_raters=3)
    assert segments.raters == 6
    assert segments.largest_share_uncapped == pytest.approx(0.5)
    assert segments.largest_share == pytest.approx(0.2)
    by_track = {int(t): (float(w), float(s)) for t, w, s in zip(segments.track, segments.weight, segments.score)}
    # Track 0's score is mostly the five others' 1s, not member 1's 5.
    assert by_track[0][1] < 2.0
    # Apart from the liked-up factor of their scores, the tracks only member 1 rated count a quarter as much
    # as a track another member rated (member 1's ten ratings weigh 2.5 together, everyone else's 1 each).
    mass = {t: w / rating_weight(s) for t, (w, s) in by_track.items()}
    assert mass[1] == pytest.approx(mass[12] / 4)
    uncapped = rated_segments(tmp_path / "ratings.npz", STYLES, max_member_share=1.0, min_raters=3)
    uncapped_mass = {int(t): float(w) / rating_weight(float(s)) for t, w, s in zip(uncapped.track, uncapped.weight, uncapped.score)}
    assert uncapped_mass[1] == pytest.approx(uncapped_mass[12])


def test_too_few_raters_is_refused_with_a_message(tmp_path: Path) -> None:
    ratings = [(1, t, 5) for t in range(8)] + [(2, t, 4) for t in range(8)]
    with pytest.raises(FinetuneError, match="at least 3 different members"):
        rated_segments(write_export(tmp_path / "ratings.npz", ratings), STYLES, min_raters=3)
    assert rated_segments(tmp_path / "ratings.npz", STYLES, min_raters=2).raters == 2
