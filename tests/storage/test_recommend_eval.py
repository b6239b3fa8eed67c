"""The evaluation machinery behind `tunesmith bench recommend`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from storage.recommend_eval import Summary, evaluate, leave_one_out, run_benchmark, simulate_server


def test_metrics_of_known_rankings() -> None:
    held = {1: 5, 2: 7}
    rankings = {
        "first": lambda user: np.array([held[user], 0, 1]),
        "third": lambda user: np.array([0, 1, held[user]]),
        "missing": lambda user: np.arange(20, 40),
    }
    metrics = evaluate(rankings, held, k=10)
    assert (metrics["first"].hit_rate, metrics["first"].ndcg) == (1.0, 1.0)
    assert metrics["third"].hit_rate == 1.0 and metrics["third"].ndcg == pytest.approx(1 / np.log2(4))
    assert (metrics["missing"].hit_rate, metrics["missing"].ndcg, metrics["missing"].users) == (0.0, 0.0, 2)


def test_leave_one_out_holds_out_a_best_rated_track_per_user() -> None:
    server = simulate_server(n_users=8, n_tracks=60, ratings_per_user=(10, 15), seed=3)
    training, held = leave_one_out(server, list(server.tastes), np.random.default_rng(0))
    assert len(training) == len(server.ratings) - len(held)
    for user, index in held.items():
        track_id = server.items[index].track_id
        mine = {t: s for u, t, s in server.ratings if u == user}
        assert mine[track_id] == max(mine.values()) >= 4
        assert all(not (u == user and t == track_id) for u, t, _ in training)
    # Users never rate their own tracks.
    creators = {it.track_id: it.creator_id for it in server.items}
    assert all(creators[t] != u for u, t, _ in server.ratings)


def test_benchmark_is_deterministic_for_a_seed() -> None:
    def quality(summaries: list[Summary]) -> list[Summary]:
        return [replace(s, ms_per_request=0.0) for s in summaries]  # times vary; metrics must not

    first = run_benchmark(servers=1, n_users=10, n_tracks=80, n_new=5, seed=1)
    second = run_benchmark(servers=1, n_users=10, n_tracks=80, n_new=5, seed=1)
    assert quality(first) == quality(second)
    assert all(s.ms_per_request > 0 for s in first)
    assert {s.recommender for s in first} == {"ours", "item-kNN", "ALS (implicit)", "popularity", "random", "hidden taste (ceiling)"}
    for s in first:  # each mean lies inside its bootstrap interval, which lies inside [0, 1]
        assert 0.0 <= s.hit_rate_ci[0] <= s.hit_rate <= s.hit_rate_ci[1] <= 1.0
        assert 0.0 <= s.ndcg_ci[0] <= s.ndcg <= s.ndcg_ci[1] <= 1.0
    ours = {s.scenario: s for s in first if s.recommender == "ours"}
    for s in first:  # the paired lead is ours minus the other, user by user on the same held-out tracks
        if s.recommender == "ours":
            assert s.gap_to_ours is None
        else:
            mean, low, high = s.gap_to_ours
            assert mean == pytest.approx(ours[s.scenario].hit_rate - s.hit_rate) and low <= mean <= high
    assert len({s.scenario for s in first}) == 2
