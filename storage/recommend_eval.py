"""Offline evaluation of the recommender on a simulated server (what `tunesmith bench recommend` runs).

Tracks get a style, a mood, a tempo and a note density, plus a hidden quality nobody can see in the
features; their "latent" is a noisy linear image of the musical facts, as a VAE's would be. Users get
hidden tastes on those facts (one or two favourite styles, a spot on the valence/arousal plane, a tempo
and a density they like, and how much each matters to them). They rate tracks they come across, more
often ones they like, with their own noise, on 1..5. Each user's ratings then lose one liked track,
and every recommender ranks all tracks that user neither rated nor made: hit rate and NDCG at 10 say
how high the held-out track came.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.labels import MOODS, STYLES
from storage.recommender import Item, Recommender, RecommenderConfig

LATENT_DIM = 32
# Typical tempo per style, so tempo carries some information about style, as in real music.
STYLE_TEMPO = {
    "jazz": 130, "blues": 95, "latin": 120, "pop": 115, "rock": 135, "folk": 105,
    "celtic": 125, "classical": 90, "game": 140, "lofi": 80, "ambient": 70,
}  # fmt: skip


@dataclass(frozen=True)
class Taste:
    styles: np.ndarray  # affinity per style in STYLES
    valence: float
    arousal: float
    tempo: float
    density: float
    weights: np.ndarray  # importance of style, mood, tempo, density, quality


@dataclass(frozen=True)
class SimulatedServer:
    items: list[Item]
    quality: np.ndarray  # hidden per-track quality
    ratings: list[tuple[int, int, float]]  # (user, track, score) for every user
    tastes: dict[int, Taste]


def simulate_tracks(n_tracks: int, rng: np.random.Generator, *, n_users: int) -> tuple[list[Item], np.ndarray]:
    moods = list(MOODS)
    projection = rng.normal(size=(len(STYLES) + 4, LATENT_DIM)) / 2.0
    items, quality = [], rng.normal(size=n_tracks)
    for t in range(n_tracks):
        style = STYLES[rng.integers(len(STYLES))]
        mood = moods[rng.integers(len(moods))]
        valence = float(np.clip(MOODS[mood].valence + rng.normal(0, 0.15), -1, 1))
        arousal = float(np.clip(MOODS[mood].arousal + rng.normal(0, 0.15), -1, 1))
        tempo = float(np.clip(STYLE_TEMPO[style] + 25 * arousal + rng.normal(0, 12), 40, 240))
        density = float(np.clip(0.45 + 0.25 * arousal + rng.normal(0, 0.12), 0.02, 1.0))
        pitch_range = float(np.clip(rng.normal(18 + 6 * density, 4), 5, 40))
        facts = np.concatenate([np.eye(len(STYLES))[STYLES.index(style)], [valence, arousal, (tempo - 110) / 30, (density - 0.45) / 0.2]])
        latent = (facts @ projection + rng.normal(0, 0.6, LATENT_DIM)).astype(np.float32)
        items.append(
            Item(
                track_id=t + 1,
                style=style,
                mood=mood,
                tempo=tempo,
                features={"density": density, "pitch_range": pitch_range, "valence": valence, "arousal": arousal},
                latent=latent,
                creator_id=int(rng.integers(n_users)),
            )
        )
    return items, quality


def simulate_taste(rng: np.random.Generator) -> Taste:
    styles = rng.normal(0, 0.25, len(STYLES))
    favourites = rng.choice(len(STYLES), size=int(rng.integers(1, 3)), replace=False)
    styles[favourites] += np.array([1.5, 1.0])[: len(favourites)]
    return Taste(
        styles=styles,
        valence=float(rng.uniform(-0.8, 0.8)),
        arousal=float(rng.uniform(-0.8, 0.8)),
        tempo=float(rng.uniform(70, 150)),
        density=float(rng.uniform(0.2, 0.8)),
        weights=rng.dirichlet([3, 2, 1, 1, 1]) * 5,
    )


def utility(taste: Taste, items: list[Item], quality: np.ndarray) -> np.ndarray:
    """How much the user likes each track, before noise."""
    style = np.array([taste.styles[STYLES.index(it.style)] for it in items])
    mood = -np.array([(it.features["valence"] - taste.valence) ** 2 + (it.features["arousal"] - taste.arousal) ** 2 for it in items])
    tempo = -np.array([((it.tempo - taste.tempo) / 30) ** 2 for it in items])
    density = -np.array([((it.features["density"] - taste.density) / 0.2) ** 2 for it in items])
    parts = np.stack([_unit(style), _unit(mood), _unit(tempo), _unit(density), _unit(quality)])
    return taste.weights @ parts


def rate(
    user: int, taste: Taste, items: list[Item], quality: np.ndarray, n_ratings: int, rng: np.random.Generator
) -> list[tuple[int, int, float]]:
    """The user's ratings of `n_ratings` tracks they came across (not their own), biased towards ones they like."""
    true = utility(taste, items, quality)
    noisy = true + rng.normal(0, 0.35 * true.std(), len(items))
    own = np.array([it.creator_id == user for it in items])
    exposure = np.exp(1.5 * _unit(true)) * ~own
    seen = rng.choice(len(items), size=min(n_ratings, int((~own).sum())), replace=False, p=exposure / exposure.sum())
    # Scores by the user's own scale: quintiles of how they would feel about every track.
    cuts = np.quantile(noisy, [0.2, 0.4, 0.6, 0.8])
    return [(user, items[i].track_id, float(1 + np.searchsorted(cuts, noisy[i]))) for i in seen]


def _unit(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else values * 0


def simulate_server(n_users: int, n_tracks: int, ratings_per_user: tuple[int, int], seed: int) -> SimulatedServer:
    rng = np.random.default_rng(seed)
    items, quality = simulate_tracks(n_tracks, rng, n_users=n_users)
    tastes = {u: simulate_taste(rng) for u in range(n_users)}
    ratings = []
    for user, taste in tastes.items():
        ratings += rate(user, taste, items, quality, int(rng.integers(ratings_per_user[0], ratings_per_user[1] + 1)), rng)
    return SimulatedServer(items, quality, ratings, tastes)


# ---------------------------------------------------------------------------------------------------
Ranker = Callable[[int], np.ndarray]  # user -> item indices, best first, over that user's candidates


@dataclass(frozen=True)
class Metrics:
    hit_rate: float  # share of users whose held-out track is in their top k
    ndcg: float
    users: int
    ms_per_request: float  # fitting (once per request, as /recommend does) plus ranking one user
    hits: tuple[float, ...] = ()  # per evaluated user, for confidence intervals over users
    gains: tuple[float, ...] = ()


def leave_one_out(
    server: SimulatedServer, users: list[int], rng: np.random.Generator
) -> tuple[list[tuple[int, int, float]], dict[int, int]]:
    """Hold out one of the best-rated tracks (score 4 or 5, the user's highest) of each user in `users`;
    returns the training ratings and the held-out item index per user (users who liked nothing are left
    out of the evaluation)."""
    index = {it.track_id: i for i, it in enumerate(server.items)}
    held: dict[int, int] = {}
    by_user: dict[int, list[tuple[int, int, float]]] = {}
    for rating in server.ratings:
        by_user.setdefault(rating[0], []).append(rating)
    for user in users:
        mine = by_user.get(user, [])
        best = max((r[2] for r in mine), default=0.0)
        liked = [r for r in mine if r[2] == best and best >= 4]
        if liked:
            held[user] = index[liked[int(rng.integers(len(liked)))][1]]
    training = [r for r in server.ratings if not (r[0] in held and index[r[1]] == held[r[0]])]
    return training, held


def evaluate(
    rankers: dict[str, Ranker], held: dict[int, int], k: int = 10, fit_seconds: Mapping[str, float] | None = None
) -> dict[str, Metrics]:
    """HR@k and NDCG@k of each ranker over the held-out tracks; `fit_seconds` is added to each ranking's time."""
    results = {}
    for name, ranker in rankers.items():
        hits, gains, seconds = [], [], 0.0
        for user, target in held.items():
            started = time.perf_counter()
            top = ranker(user)[:k]
            seconds += time.perf_counter() - started
            positions = np.flatnonzero(top == target)
            hits.append(1.0 if positions.size else 0.0)
            gains.append(1.0 / np.log2(positions[0] + 2) if positions.size else 0.0)
        per_request = seconds / max(len(held), 1) + (fit_seconds or {}).get(name, 0.0)
        results[name] = Metrics(float(np.mean(hits)), float(np.mean(gains)), len(held), 1000 * per_request, tuple(hits), tuple(gains))
    return results


def fit_ours(items: list[Item], training: list[tuple[int, int, float]], config: RecommenderConfig | None) -> tuple[Recommender, float]:
    started = time.perf_counter()
    model = Recommender(items, training, config)
    return model, time.perf_counter() - started


def candidate_filter(items: list[Item], training: list[tuple[int, int, float]]) -> Callable[[int, np.ndarray], np.ndarray]:
    """Removes from an ordering the tracks the user rated (in training) or made, as the recommender does."""
    index = {it.track_id: i for i, it in enumerate(items)}
    rated: dict[int, set[int]] = {}
    for user, track, _ in training:
        rated.setdefault(user, set()).add(index[track])
    creators = np.array([-1 if it.creator_id is None else it.creator_id for it in items])

    def keep(user: int, order: np.ndarray) -> np.ndarray:
        excluded = rated.get(user, set())
        mask = np.array([i not in excluded for i in order], dtype=bool) & (creators[order] != user)
        return order[mask]

    return keep


def baselines(items: list[Item], training: list[tuple[int, int, float]], rng: np.random.Generator) -> dict[str, Ranker]:
    """Most-liked first (count of ratings >= 4, ties at random) and a fresh random order per user."""
    index = {it.track_id: i for i, it in enumerate(items)}
    likes = np.zeros(len(items))
    for _, track, score in training:
        likes[index[track]] += score >= 4
    popular_order = np.lexsort((rng.random(len(items)), -likes))
    keep = candidate_filter(items, training)
    return {
        "popularity": lambda user: keep(user, popular_order),
        "random": lambda user: keep(user, rng.permutation(len(items))),
    }


def _likes_matrix(items: list[Item], training: list[tuple[int, int, float]]) -> tuple[np.ndarray, dict[int, int]]:
    """users x items: how much each user liked each track (score 4 -> 1, 5 -> 2, anything else 0): implicit feedback."""
    index = {it.track_id: i for i, it in enumerate(items)}
    users = {u: r for r, u in enumerate(sorted({u for u, _, _ in training}))}
    likes = np.zeros((len(users), len(items)), np.float32)
    for user, track, score in training:
        likes[users[user], index[track]] = max(0.0, score - 3.0)
    return likes, users


def item_knn(items: list[Item], training: list[tuple[int, int, float]], neighbours: int = 50) -> Ranker:
    """Item-based kNN on implicit feedback (Deshpande & Karypis 2004): cosine similarity between tracks' like
    vectors, each track keeping its `neighbours` most similar; a user's score for a track sums its similarity to
    the tracks they liked, weighted by how much. Users with no likes get the most-liked order."""
    likes, users = _likes_matrix(items, training)
    norms = np.linalg.norm(likes, axis=0)
    unit = np.divide(likes, norms, out=np.zeros_like(likes), where=norms > 0)
    similarity = unit.T @ unit
    np.fill_diagonal(similarity, 0.0)
    if neighbours < similarity.shape[1]:
        cut = np.partition(similarity, -neighbours, axis=1)[:, -neighbours][:, None]
        similarity = np.where(similarity >= cut, similarity, 0.0)
    popular = np.argsort(-likes.sum(axis=0), kind="stable")
    keep = candidate_filter(items, training)

    def rank(user: int) -> np.ndarray:
        row = users.get(user)
        if row is None or not likes[row].any():
            return keep(user, popular)
        scores = likes[row] @ similarity
        return keep(user, np.lexsort((popular.argsort(), -scores)))

    return rank


def als(items: list[Item], training: list[tuple[int, int, float]], factors: int = 16, regularization: float = 1.0, iterations: int = 15,
        alpha: float = 1.0, seed: int = 0) -> Ranker:
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) from the `implicit` library, on likes with confidence
    1 + alpha * like; ranks every candidate by the dot product of user and item factors. The defaults were the
    best HR@10 of factors 8-64, regularisation 0.01-1 and alpha 1-40 on simulated servers with seeds 100-102
    (apart from the benchmark's 7-11); item-kNN's 50 neighbours likewise, of 10-500."""
    from implicit.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    likes, users = _likes_matrix(items, training)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # implicit's own threads only: BLAS threads inside them thrash
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, iterations=iterations, alpha=alpha, random_state=seed,
                                        num_threads=1, calculate_training_loss=False)
        model.fit(csr_matrix(likes), show_progress=False)
    user_factors, item_factors = np.asarray(model.user_factors), np.asarray(model.item_factors)
    popular = np.argsort(-likes.sum(axis=0), kind="stable")
    keep = candidate_filter(items, training)

    def rank(user: int) -> np.ndarray:
        row = users.get(user)
        if row is None or not likes[row].any():
            return keep(user, popular)
        return keep(user, np.argsort(-(item_factors @ user_factors[row]), kind="stable"))

    return rank


def timed(fit: Callable[[], Ranker]) -> tuple[Ranker, float]:
    started = time.perf_counter()
    ranker = fit()
    return ranker, time.perf_counter() - started


def ceiling(server: SimulatedServer, training: list[tuple[int, int, float]]) -> Ranker:
    """Ranks by each user's true (hidden, noise-free) taste: how well any recommender could do here."""
    keep = candidate_filter(server.items, training)
    return lambda user: keep(user, np.argsort(-utility(server.tastes[user], server.items, server.quality), kind="stable"))


@dataclass(frozen=True)
class Scenario:
    name: str
    users: int
    tracks: int
    metrics: dict[str, Metrics]


def run_warm(n_users: int = 50, n_tracks: int = 500, seed: int = 7, config: RecommenderConfig | None = None) -> Scenario:
    """Every user has 20-60 ratings; one liked track each is held out."""
    server = simulate_server(n_users, n_tracks, (20, 60), seed)
    rng = np.random.default_rng(seed + 1)
    training, held = leave_one_out(server, list(server.tastes), rng)
    rankers, fits = _all_rankers(server.items, training, config, rng)
    rankers["hidden taste (ceiling)"] = ceiling(server, training)
    return Scenario(f"{n_users} users x {n_tracks} tracks", n_users, n_tracks, evaluate(rankers, held, fit_seconds=fits))


def _all_rankers(items: list[Item], training: list[tuple[int, int, float]], config: RecommenderConfig | None,
                 rng: np.random.Generator) -> tuple[dict[str, Ranker], dict[str, float]]:
    """Ours and every baseline, with the seconds each took to fit (added to its per-request time: /recommend
    fits on every request; the baselines could be fitted once, so theirs is a fair upper bound)."""
    ours, ours_seconds = fit_ours(items, training, config)
    knn, knn_seconds = timed(lambda: item_knn(items, training))
    factors, als_seconds = timed(lambda: als(items, training))
    rankers: dict[str, Ranker] = {"ours": ours.ranking, "item-kNN": knn, "ALS (implicit)": factors, **baselines(items, training, rng)}
    return rankers, {"ours": ours_seconds, "item-kNN": knn_seconds, "ALS (implicit)": als_seconds}


def run_cold_start(
    n_users: int = 50, n_tracks: int = 500, n_new: int = 50, seed: int = 7, config: RecommenderConfig | None = None
) -> Scenario:
    """`n_new` newcomers with 1-3 ratings each (plus one liked track held out) join a server whose
    `n_users` regulars have rated as in the warm scenario; only the newcomers are evaluated."""
    server = simulate_server(n_users, n_tracks, (20, 60), seed)
    rng = np.random.default_rng(seed + 2)
    newcomers = list(range(n_users, n_users + n_new))
    ratings = list(server.ratings)
    tastes = dict(server.tastes)
    for user in newcomers:
        taste = tastes[user] = simulate_taste(rng)
        # Newcomers' tracks: none; each has 2-4 ratings so that 1-3 remain after holding one out.
        mine: list[tuple[int, int, float]] = []
        for _ in range(20):  # redraw until at least one rating is a like (needed to hold one out)
            mine = rate(user, taste, server.items, server.quality, int(rng.integers(2, 5)), rng)
            if any(score >= 4 for _, _, score in mine):
                break
        ratings += mine
    cold = SimulatedServer(server.items, server.quality, ratings, tastes)
    training, held = leave_one_out(cold, newcomers, rng)
    rankers, fits = _all_rankers(server.items, training, config, rng)
    rankers["hidden taste (ceiling)"] = ceiling(cold, training)
    return Scenario(f"cold start: {n_new} newcomers, 1-3 ratings", n_users + n_new, n_tracks, evaluate(rankers, held, fit_seconds=fits))


@dataclass(frozen=True)
class Summary:
    """One recommender in one scenario over several simulated servers: mean and spread of each metric."""

    scenario: str
    recommender: str
    hit_rate: float
    hit_rate_std: float
    ndcg: float
    ndcg_std: float
    users: int  # users evaluated, over all servers
    ms_per_request: float
    hit_rate_ci: tuple[float, float] = (0.0, 0.0)  # 95% bootstrap interval over the evaluated users of all servers
    ndcg_ci: tuple[float, float] = (0.0, 0.0)
    # ours minus this recommender's HR@10, paired over the same users: (mean, low, high) of a 95% bootstrap; None for ours
    gap_to_ours: tuple[float, float, float] | None = None


def run_benchmark(
    servers: int = 5, n_users: int = 50, n_tracks: int = 500, n_new: int = 50, seed: int = 7, config: RecommenderConfig | None = None
) -> list[Summary]:
    """Both scenarios on `servers` simulated servers (seeds seed, seed+1, ...), summarised per recommender."""
    runs: dict[tuple[str, str], list[Metrics]] = {}
    for s in range(seed, seed + servers):
        for scenario in (run_warm(n_users, n_tracks, s, config), run_cold_start(n_users, n_tracks, n_new, s, config)):
            name = scenario.name
            for recommender, metrics in scenario.metrics.items():
                runs.setdefault((name, recommender), []).append(metrics)
    return [
        Summary(
            scenario=name,
            recommender=recommender,
            hit_rate=float(np.mean([m.hit_rate for m in ms])),
            hit_rate_std=float(np.std([m.hit_rate for m in ms])),
            ndcg=float(np.mean([m.ndcg for m in ms])),
            ndcg_std=float(np.std([m.ndcg for m in ms])),
            users=sum(m.users for m in ms),
            ms_per_request=float(np.mean([m.ms_per_request for m in ms])),
            hit_rate_ci=bootstrap_ci([h for m in ms for h in m.hits], seed),
            ndcg_ci=bootstrap_ci([g for m in ms for g in m.gains], seed),
            gap_to_ours=None if recommender == "ours" else _paired_gap(runs[(name, "ours")], ms, seed),
        )
        for (name, recommender), ms in runs.items()
    ]


def _paired_gap(ours: list[Metrics], other: list[Metrics], seed: int) -> tuple[float, float, float]:
    """Ours minus the other's HR@10 per user (the same held-out tracks, in the same order), with a 95% bootstrap."""
    diff = [a - b for mo, mt in zip(ours, other) for a, b in zip(mo.hits, mt.hits)]
    low, high = bootstrap_ci(diff, seed)
    return float(np.mean(diff)) if diff else 0.0, low, high


def bootstrap_ci(values: list[float], seed: int, resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, resampling users (their held-out tracks) with replacement."""
    if not values:
        return (0.0, 0.0)
    data = np.asarray(values, dtype=np.float64)
    means = data[np.random.default_rng(seed).integers(0, len(data), (resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


__all__ = [
    "Summary",
    "run_benchmark",
    "ceiling",
    "Metrics",
    "Scenario",
    "run_warm",
    "run_cold_start",
    "simulate_server",
    "leave_one_out",
    "evaluate",
    "baselines",
    "bootstrap_ci",
    "item_knn",
    "als",
]
