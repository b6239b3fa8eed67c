"""The recommendation algorithm, on plain arrays (numpy only, no database), so the benchmark can run it
on simulated servers.

Four signals, each standardised over the catalogue and blended per candidate track:
- content: how close the candidate is to tracks the user rated, in a space made of the model's latent
  vector, standardised musical features (tempo, density, pitch range...), style and mood; each rated
  track pulls (liked) or pushes (disliked) with a weight of (score - 3), through a similarity kernel;
- taste: a per-user ridge regression of (score - 3) on style, mood, the features and their squares (so
  a favourite middle tempo can be learnt) and the latent; trusted more as the user rates more;
- collaborative: item-kNN on mean-centred ratings (adjusted cosine, shrunk when few people rated both
  tracks); it only adds something once other people have rated the same tracks;
- popularity: net likes on the server; the whole answer for someone with no ratings, a small prior
  otherwise.
Every result carries a reason naming the liked track it comes from, or "popular on this server".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

NEUTRAL_SCORE = 3.0  # the middle of the 1..5 scale: above it a rating is a like, below a dislike

ReasonKind = Literal["content", "collaborative", "popular"]


@dataclass(frozen=True)
class Item:
    """What the recommender knows about one track."""

    track_id: int
    style: str
    mood: str
    tempo: float
    features: Mapping[str, float] = field(default_factory=dict)
    latent: np.ndarray | None = field(default=None, compare=False)
    creator_id: int | None = None

    @property
    def label(self) -> str:
        return f"#{self.track_id} ({self.style}, {self.mood})"


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    text: str
    anchor_track_id: int | None = None  # the liked track the recommendation comes from


@dataclass(frozen=True)
class Scored:
    track_id: int
    score: float
    reason: Reason


@dataclass(frozen=True)
class RecommenderConfig:
    # Content space: relative weight of each block (each block has unit norm before weighting).
    latent_weight: float = 1.0
    feature_weight: float = 1.0
    style_weight: float = 1.0
    mood_weight: float = 0.5
    # Similarity kernel exp((cosine - 1) / temperature): small values keep only near neighbours. Sharp
    # kernels let one near-duplicate drown every other signal; 1.0 did best on simulated servers of
    # 500 and 2000 tracks (seeds apart from the benchmark's).
    temperature: float = 1.0
    # Collaborative: shrinkage of item-item similarity by co-rater count, and damping of predictions.
    shrinkage: float = 5.0
    collaborative_damping: float = 1.0
    collaborative_weight: float = 0.5
    # "Enough data" for the collaborative signal: below this many ratings by this many people, it is off.
    collaborative_min_ratings: int = 30
    collaborative_min_users: int = 3
    # Taste model: per-user ridge regression of (score - 3) on content features and their squares.
    # The taste model needs ratings to be trusted: its weight grows as n / (n + taste_ramp).
    taste_weight: float = 2.0
    taste_ramp: float = 10.0
    ridge: float = 3.0
    taste_latent_weight: float = 0.5
    # Popularity prior for people who have rated something: among tracks that fit, prefer well-liked ones.
    popularity_weight: float = 0.3


class Recommender:
    """Fitted on one server's tracks and ratings; `recommend` then ranks unrated tracks for any user."""

    def __init__(self, items: Sequence[Item], ratings: Iterable[tuple[int, int, float]], config: RecommenderConfig | None = None) -> None:
        self.config = config or RecommenderConfig()
        self.items = list(items)
        self._index = {item.track_id: i for i, item in enumerate(self.items)}
        self._creators = np.array([-1 if it.creator_id is None else it.creator_id for it in self.items], dtype=np.int64)
        self._embedding = content_embedding(self.items, self.config)
        self._design = taste_design(self.items, self.config)

        triples = [(u, self._index[t], float(s)) for u, t, s in ratings if t in self._index]
        users = sorted({u for u, _, _ in triples})
        self._user_index = {u: i for i, u in enumerate(users)}
        n_users, n_items = len(users), len(self.items)
        self._scores = np.zeros((n_users, n_items), dtype=np.float32)
        self._rated = np.zeros((n_users, n_items), dtype=bool)
        for u, i, s in triples:
            self._scores[self._user_index[u], i] = s
            self._rated[self._user_index[u], i] = True

        # Adjusted cosine: centre each user's ratings on their own mean.
        counts = self._rated.sum(axis=1, keepdims=True)
        means = np.divide(self._scores.sum(axis=1, keepdims=True), counts, out=np.zeros_like(counts, dtype=np.float32), where=counts > 0)
        self._centred = np.where(self._rated, self._scores - means, 0.0).astype(np.float32)
        self._centred_norms = np.sqrt((self._centred**2).sum(axis=0))
        self._popularity = np.where(self._rated, self._scores - NEUTRAL_SCORE, 0.0).sum(axis=0)
        c = self.config
        self.collaborative_ready = len(triples) >= c.collaborative_min_ratings and n_users >= c.collaborative_min_users

    # ----------------------------------------------------------------------------------------------
    def recommend(self, user_id: int, k: int = 10) -> list[Scored]:
        """The user's top `k` tracks among those they neither rated nor made, each with its reason."""
        if not self.items or k <= 0:
            return []
        scores, explain = self._score(user_id)
        order = self._order(scores, user_id)[:k]
        return [Scored(self.items[i].track_id, float(scores[i]), explain(i)) for i in order]

    def ranking(self, user_id: int) -> np.ndarray:
        """Indices into `items` of every candidate for the user, best first (used by the benchmark)."""
        scores, _ = self._score(user_id)
        return self._order(scores, user_id)

    def _order(self, scores: np.ndarray, user_id: int) -> np.ndarray:
        allowed = self._creators != user_id
        if user_id in self._user_index:
            allowed &= ~self._rated[self._user_index[user_id]]
        candidates = np.flatnonzero(allowed)
        # Stable sort on the negated score; ties go to the newer track (higher id).
        ids = np.array([self.items[i].track_id for i in candidates], dtype=np.int64)
        return candidates[np.lexsort((-ids, -scores[candidates]))]

    def _score(self, user_id: int) -> tuple[np.ndarray, Callable[[int], Reason]]:
        """Scores for every item, and a function giving the reason for item i."""
        popularity = _standardise(self._popularity)
        row = self._user_index.get(user_id)
        if row is None:
            return popularity, lambda i: _popular()

        rated = np.flatnonzero(self._rated[row])
        weights = self._scores[row, rated] - NEUTRAL_SCORE  # likes pull, dislikes push

        # Content: kernel similarity of every track to each rated one, weighted by the rating.
        cosine = self._embedding @ self._embedding[rated].T  # [n, r]
        kernel = np.exp((cosine - 1.0) / self.config.temperature)
        content_parts = kernel * weights  # [n, r]
        content_norm = max(float(np.abs(weights).sum()), 1e-9)
        content = content_parts.sum(axis=1) / content_norm

        # Collaborative: adjusted-cosine item similarity, only through people who rated both tracks.
        co_raters = self._rated[:, rated].T.astype(np.float32) @ self._rated.astype(np.float32)  # [r, n]
        dot = self._centred[:, rated].T @ self._centred  # [r, n]
        norms = np.outer(self._centred_norms[rated], self._centred_norms)
        similarity = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0) * (co_raters / (co_raters + self.config.shrinkage))
        collab_parts = similarity.T * weights  # [n, r]
        collab_norm = np.abs(similarity).sum(axis=0) + self.config.collaborative_damping  # [n]
        collaborative = collab_parts.sum(axis=1) / collab_norm

        # Taste: a linear model of this user's scores over style, mood, features (and squares, so a
        # favourite middle tempo can be learnt) and latent; ridge keeps it modest with few ratings.
        design = self._design[rated]
        gram = design.T @ design + self.config.ridge * np.eye(design.shape[1])
        taste = self._design @ np.linalg.solve(gram, design.T @ weights)

        c = self.config
        taste_trust = c.taste_weight * len(rated) / (len(rated) + c.taste_ramp)
        collab_trust = c.collaborative_weight if self.collaborative_ready else 0.0
        # What each signal adds to each candidate's score: the reason is the one that adds most.
        lifts = np.stack(
            [
                _standardise(content) + taste_trust * _standardise(taste),  # both say "this sounds like what you like"
                collab_trust * _standardise(collaborative),
                c.popularity_weight * popularity,
            ]
        )
        scores = lifts.sum(axis=0)
        liked = weights > 0

        def explain(i: int) -> Reason:
            signal = int(np.argmax(lifts[:, i]))
            collab_gain = np.where(liked, collab_parts[i], 0.0)
            if signal == 1 and collab_gain.max(initial=0.0) > 0:
                anchor = self.items[rated[int(np.argmax(collab_gain))]]
                return Reason("collaborative", f"people who liked {anchor.label} also liked this", anchor.track_id)
            if signal == 2 or not liked.any():
                return _popular()
            # Name the liked track this one is closest to.
            anchor = self.items[rated[int(np.argmax(np.where(liked, content_parts[i], -np.inf)))]]
            return Reason("content", f"because you liked {anchor.label}", anchor.track_id)

        return scores, explain


def _popular() -> Reason:
    return Reason("popular", "popular on this server")


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values, dtype=np.float64)


def content_embedding(items: Sequence[Item], config: RecommenderConfig) -> np.ndarray:
    """Each track as a unit vector: weighted blocks of latent, numeric features, style and mood."""
    n = len(items)
    blocks: list[np.ndarray] = []

    latent = _latent_block(items)
    if latent is not None:
        blocks.append(latent * np.sqrt(config.latent_weight))

    numeric = _numeric_matrix(items)
    blocks.append(_zscore(numeric) / np.sqrt(numeric.shape[1]) * np.sqrt(config.feature_weight))

    for attribute, weight in (("style", config.style_weight), ("mood", config.mood_weight)):
        values = sorted({getattr(item, attribute) for item in items})
        one_hot = np.zeros((n, len(values)))
        position = {v: j for j, v in enumerate(values)}
        for i, item in enumerate(items):
            one_hot[i, position[getattr(item, attribute)]] = 1.0
        blocks.append(one_hot * np.sqrt(weight))

    embedding = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 1))
    norms = np.linalg.norm(embedding, axis=1, keepdims=True)
    return np.divide(embedding, norms, out=np.zeros_like(embedding), where=norms > 0).astype(np.float32)


def taste_design(items: Sequence[Item], config: RecommenderConfig) -> np.ndarray:
    """Columns a per-user linear taste model is fitted on: style and mood one-hots, standardised numeric
    features and their squares (centred), and the standardised latent (down-weighted: it is noisy)."""
    n = len(items)
    columns: list[np.ndarray] = []
    for attribute in ("style", "mood"):
        values = sorted({getattr(item, attribute) for item in items})
        position = {v: j for j, v in enumerate(values)}
        one_hot = np.zeros((n, len(values)))
        for i, item in enumerate(items):
            one_hot[i, position[getattr(item, attribute)]] = 1.0
        columns.append(one_hot)
    numeric = _zscore(_numeric_matrix(items))
    columns += [numeric, numeric**2 - 1.0]
    latent = _latent_block(items)
    if latent is not None:
        columns.append(latent * np.sqrt(latent.shape[1]) * config.taste_latent_weight)
    return np.concatenate(columns, axis=1) if n else np.zeros((0, 1))


def _numeric_matrix(items: Sequence[Item]) -> np.ndarray:
    """Tempo and every named feature, one column each; NaN where a track lacks a feature."""
    # Tempo is a column of its own; a "tempo" feature would only count it twice.
    names = sorted({name for item in items for name in item.features} - {"tempo"})
    numeric = np.full((len(items), 1 + len(names)), np.nan)
    for i, item in enumerate(items):
        numeric[i, 0] = item.tempo
        for j, name in enumerate(names, start=1):
            if name in item.features:
                numeric[i, j] = item.features[name]
    return numeric


def _latent_block(items: Sequence[Item]) -> np.ndarray | None:
    sizes = [item.latent.size for item in items if item.latent is not None]
    if not sizes:
        return None
    dim = max(set(sizes), key=sizes.count)  # tracks from an older model with another size are left out
    latents = np.full((len(items), dim), np.nan)
    for i, item in enumerate(items):
        if item.latent is not None and item.latent.size == dim:
            latents[i] = item.latent
    return _zscore(latents) / np.sqrt(dim)


def _zscore(matrix: np.ndarray) -> np.ndarray:
    """Standardise columns, ignoring missing values (NaN), which then sit at the mean (0)."""
    present = ~np.isnan(matrix)
    counts = present.sum(axis=0)
    filled = np.where(present, matrix, 0.0)
    means = np.divide(filled.sum(axis=0), counts, out=np.zeros(matrix.shape[1]), where=counts > 0)
    centred = np.where(present, matrix - means, 0.0)
    spread = np.sqrt(np.divide((centred**2).sum(axis=0), counts, out=np.zeros(matrix.shape[1]), where=counts > 0))
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


__all__ = ["Item", "Reason", "Scored", "Recommender", "RecommenderConfig", "content_embedding", "NEUTRAL_SCORE"]
