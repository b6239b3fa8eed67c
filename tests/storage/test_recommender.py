"""The recommendation algorithm on hand-made data (no database)."""

from __future__ import annotations

import numpy as np

from storage.recommender import Item, Recommender, RecommenderConfig


def _item(track_id: int, style: str, mood: str, tempo: float, creator: int | None = None, **features: float) -> Item:
    return Item(track_id, style, mood, tempo, features or {"density": 0.5}, None, creator)


CATALOGUE = [
    _item(1, "jazz", "calm", 90, density=0.3),
    _item(2, "jazz", "calm", 92, density=0.32),
    _item(3, "jazz", "calm", 88, density=0.28, creator=100),
    _item(4, "rock", "energetic", 150, density=0.9),
    _item(5, "rock", "energetic", 148, density=0.85),
    _item(6, "ambient", "dreamy", 70, density=0.1),
]


def test_a_liked_track_brings_similar_ones_first_with_its_name_as_reason() -> None:
    model = Recommender(CATALOGUE, [(100, 1, 5)])
    recs = model.recommend(100, k=3)
    assert recs[0].track_id == 2
    assert recs[0].reason.kind == "content" and recs[0].reason.anchor_track_id == 1
    assert recs[0].reason.text == "because you liked #1 (jazz, calm)"
    ids = [r.track_id for r in model.recommend(100, k=10)]
    assert 1 not in ids  # already rated
    assert 3 not in ids  # made by the user
    assert len(ids) == len(CATALOGUE) - 2


def test_a_disliked_track_pushes_its_neighbours_down() -> None:
    model = Recommender(CATALOGUE, [(100, 4, 1), (7, 5, 5), (8, 5, 5)])
    ids = [r.track_id for r in model.recommend(100, k=10)]
    assert ids[-1] == 5  # the other rock track, though popular, comes last
    assert all(r.reason.kind == "popular" for r in model.recommend(100, k=10))  # nothing liked to name


def test_new_users_get_popular_tracks() -> None:
    ratings = [(7, 4, 5), (8, 4, 4), (9, 4, 5), (7, 6, 4), (8, 2, 1)]
    recs = Recommender(CATALOGUE, ratings).recommend(999, k=3)
    assert [r.track_id for r in recs][:2] == [4, 6]
    assert {r.reason.text for r in recs} == {"popular on this server"}
    assert recs[-1].track_id != 2  # disliked by its only rater


def test_collaborative_reason_when_other_people_connect_two_different_tracks() -> None:
    # Two people loved both the jazz track 1 and the ambient track 6 and disliked the rock ones.
    ratings = [(u, t, s) for u in (7, 8) for t, s in ((1, 5), (6, 5), (4, 1), (5, 1))] + [(100, 1, 5)]
    enough = RecommenderConfig(collaborative_min_ratings=len(ratings), collaborative_min_users=3)
    model = Recommender(CATALOGUE, ratings, enough)
    assert model.collaborative_ready
    recs = {r.track_id: r for r in model.recommend(100, k=10)}
    assert recs[6].reason.kind == "collaborative"
    assert recs[6].reason.text == "people who liked #1 (jazz, calm) also liked this"
    alone = {r.track_id: r for r in Recommender(CATALOGUE, [(100, 1, 5)], enough).recommend(100, k=10)}
    assert recs[6].score > alone[6].score


def test_collaborative_signal_waits_for_enough_data() -> None:
    ratings = [(u, t, s) for u in (7, 8) for t, s in ((1, 5), (6, 5), (4, 1), (5, 1))] + [(100, 1, 5)]
    model = Recommender(CATALOGUE, ratings, RecommenderConfig(collaborative_min_ratings=len(ratings) + 1))
    assert not model.collaborative_ready
    assert all(r.reason.kind != "collaborative" for r in model.recommend(100, k=10))


def test_latents_count_in_similarity() -> None:
    near, far = np.ones(8, dtype=np.float32), -np.ones(8, dtype=np.float32)
    items = [
        Item(1, "pop", "happy", 120, {}, near),
        Item(2, "pop", "happy", 120, {}, near * 0.9),
        Item(3, "pop", "happy", 120, {}, far),
    ]
    recs = Recommender(items, [(1, 1, 5)]).recommend(1, k=2)
    assert [r.track_id for r in recs] == [2, 3]


def test_empty_catalogue_and_zero_k() -> None:
    assert Recommender([], []).recommend(1) == []
    assert Recommender(CATALOGUE, []).recommend(1, k=0) == []


def test_ratings_of_unknown_tracks_are_ignored() -> None:
    recs = Recommender(CATALOGUE, [(1, 999, 5), (1, 1, 5)]).recommend(1, k=1)
    assert recs[0].reason.anchor_track_id == 1


def test_reasons_only_name_tracks_the_user_liked() -> None:
    # Others disliked track 4 and liked 6; this user disliked 4 too, so 6 is related to 4 only negatively.
    ratings = [(u, t, s) for u in (7, 8, 9) for t, s in ((4, 1), (6, 5), (1, 3), (2, 3))] + [(100, 4, 1)]
    model = Recommender(CATALOGUE, ratings, RecommenderConfig(collaborative_min_ratings=1))
    for rec in model.recommend(100, k=10):
        assert rec.reason.anchor_track_id is None and rec.reason.kind == "popular"
