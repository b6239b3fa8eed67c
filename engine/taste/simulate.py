"""Simulated communities of distinct taste, on the real composer: what `tunesmith bench taste` runs.

Each server is a community: a hidden preference over style, mood (valence/arousal), tempo, note density and
melody pitch, shared by its members with some personal variation. Its members ask for styles and moods
they like; the shipped model composes the server's library; members rate tracks they come across (1-5, on a
fixed scale: the same liking always gets the same score, with noise per rating). The features are measured
on the finished pieces, as bot.publishing stores them (melody notes per bar, mean melody pitch).

Then server A runs its retrain (engine.taste.train, on A's ratings export only) and both servers compose
new tracks from fresh seeds. We report, for A, its members' mean rating of new tracks without and with A's
taste (same requests and seeds, so the difference is paired); for B, the same before and after A's retrain
(B's requests carry no taste, so its pieces must not change at all); and A again with one extra member who
rates 1,000 tracks with the opposite taste, trained with the member cap and without it.

Only the latent is steered: style, mood and tempo are what members ask for, so the gain must come from
what the latent decides (density, register, contour). The novelty check is off here (it resamples copies
and only adds time).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.request import ComposeRequest
from engine.labels import MOODS, STYLES
from storage.export import RatedTrack, _as_arrays

MOOD_NAMES = list(MOODS)


@dataclass(frozen=True)
class Community:
    """A server's hidden taste; members share it up to `member_spread`."""

    name: str
    styles: dict[str, float]  # the styles its members ask for, with how much they like each
    moods: list[str]  # the moods its members ask for
    valence: float
    arousal: float
    tempo: float
    density: float  # melody notes per bar it likes
    pitch: float  # mean melody pitch (MIDI) it likes
    weights: tuple[float, float, float, float, float] = (0.15, 0.15, 0.1, 0.3, 0.3)  # style, mood, tempo, density, pitch
    member_spread: float = 0.15

    def opposite(self, centre_density: float, centre_pitch: float) -> "Community":
        """The same community with density and pitch preferences mirrored around the library's centre."""
        return replace(self, name=f"{self.name} (opposite)", density=2 * centre_density - self.density, pitch=2 * centre_pitch - self.pitch)


@dataclass
class Track:
    track_id: int
    style: str
    mood: str
    tempo: float
    key: str
    seed: int
    density: float
    pitch: float
    latent: np.ndarray
    model_version: str


@dataclass
class Member:
    user_id: int
    taste: Community
    offsets: np.ndarray  # personal variation of (density, pitch, tempo) preferences


@dataclass
class Scale:
    """Fixed units for utility terms and the cut points from liking to 1..5, set once from the first library."""

    density: float
    pitch: float
    tempo: float
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(4))


def default_communities() -> tuple[Community, Community]:
    a = Community("A: busy and bright", {"jazz": 1.0, "pop": 0.6, "latin": 0.8}, ["happy", "energetic", "calm"], 0.6, 0.5, 130, density=7.0, pitch=76.0)
    b = Community("B: sparse and low", {"folk": 1.0, "classical": 0.7, "pop": 0.4}, ["calm", "sad", "dreamy"], -0.3, -0.4, 95, density=3.0, pitch=62.0)
    return a, b


def compose(composer: Any, requests: list[ComposeRequest], start_id: int, batch: int = 64) -> list[Track]:
    tracks: list[Track] = []
    for i in range(0, len(requests), batch):
        for request, c in zip(requests[i : i + batch], composer.generate(requests[i : i + batch])):
            melody = c.piece.melody
            pitches = [n.pitch for n in melody] or [60]
            tracks.append(Track(start_id + len(tracks), c.plan.style, c.plan.mood.name, float(c.plan.tempo), c.plan.key.name, int(request.seed or 0),
                                len(melody) / max(1, c.piece.bars), float(np.mean(pitches)), np.asarray(c.latent, np.float32), c.model_version))
    return tracks


def requests_for(community: Community, n: int, rng: np.random.Generator, taste: str | None = None) -> list[ComposeRequest]:
    styles = list(community.styles)
    p = np.array([community.styles[s] for s in styles])
    p = p / p.sum()
    return [ComposeRequest(style=styles[rng.choice(len(styles), p=p)], mood=community.moods[rng.integers(len(community.moods))], bars=8,
                           seed=int(rng.integers(0, 2**31 - 1)), taste=taste) for _ in range(n)]


def members_of(community: Community, n: int, first_id: int, rng: np.random.Generator) -> list[Member]:
    return [Member(first_id + i, community, rng.normal(0, community.member_spread, 3)) for i in range(n)]


def utility(member: Member, tracks: list[Track], scale: Scale) -> np.ndarray:
    t = member.taste
    style = np.array([t.styles.get(tr.style, -0.5) for tr in tracks])
    mood = -np.array([(MOODS[tr.mood].valence - t.valence) ** 2 + (MOODS[tr.mood].arousal - t.arousal) ** 2 for tr in tracks])
    density_pref = t.density + member.offsets[0] * scale.density
    pitch_pref = t.pitch + member.offsets[1] * scale.pitch
    tempo_pref = t.tempo + member.offsets[2] * scale.tempo
    tempo = -np.array([((tr.tempo - tempo_pref) / scale.tempo) ** 2 for tr in tracks])
    density = -np.array([((tr.density - density_pref) / scale.density) ** 2 for tr in tracks])
    pitch = -np.array([((tr.pitch - pitch_pref) / scale.pitch) ** 2 for tr in tracks])
    return np.array(t.weights) @ np.stack([style, mood, tempo, density, pitch])


def rate(member: Member, tracks: list[Track], scale: Scale, rng: np.random.Generator, noise: float = 0.15) -> np.ndarray:
    """Scores 1..5 on the fixed scale, with noise per rating."""
    return 1 + np.searchsorted(scale.cuts, utility(member, tracks, scale) + rng.normal(0, noise, len(tracks))).astype(np.float32)


def export_of(ratings: list[tuple[int, Track, float]], path: Path) -> Path:
    records = [RatedTrack(user, t.track_id, int(score), t.style, t.mood, t.key, t.tempo, 8, t.seed, "gan", t.model_version,
                          {"density": t.density, "pitch_mean": t.pitch}, t.latent, None) for user, t, score in ratings]
    _as_arrays(records).save(path)
    return path


@dataclass
class Outcome:
    """One comparison: a community's mean rating of the same new requests, two ways."""

    label: str
    before: float
    after: float
    low: float  # 95% bootstrap interval of the paired difference (after - before), over tracks
    high: float
    tracks: int
    identical: int = 0  # new tracks identical before and after (notes and latent)

    @property
    def difference(self) -> float:
        return self.after - self.before


def mean_rating(members: list[Member], tracks: list[Track], scale: Scale, seed: int) -> np.ndarray:
    """Each track's mean score over the community's members: [tracks]. The rating noise depends on the seed and
    the track's position only, so two versions of the same requests are compared with the same noise."""
    rng = np.random.default_rng(seed)
    return np.mean([rate(m, tracks, scale, rng) for m in members], axis=0)


def paired(label: str, before: np.ndarray, after: np.ndarray, rng: np.random.Generator, identical: int = 0, resamples: int = 2000) -> Outcome:
    diff = after - before
    boots = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(1)
    return Outcome(label, float(before.mean()), float(after.mean()), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975)), len(diff), identical)


@dataclass
class TasteBenchmark:
    outcomes: list[Outcome]
    training: dict[str, dict[str, Any]]  # label -> train_taste metrics
    library: dict[str, int]
    ratings: dict[str, int]


def run(composer: Any, *, library_a: int = 1100, library_b: int = 300, members: int = 12, ratings_per_member: int = 40, troll_ratings: int = 1000,
        new_tracks: int = 300, steps: int = 300, seed: int = 0, max_member_share: float = 0.2, work_dir: Path | None = None) -> TasteBenchmark:
    """The whole simulation on `composer` (a Composer of the base model; its novelty check is switched off here)."""
    composer.novelty = None
    rng = np.random.default_rng(seed)
    a, b = default_communities()
    lib_a = compose(composer, requests_for(a, library_a, rng), 1)
    lib_b = compose(composer, requests_for(b, library_b, rng), 100_000)
    everything = lib_a + lib_b
    density = np.array([t.density for t in everything])
    pitch = np.array([t.pitch for t in everything])
    tempo = np.array([t.tempo for t in everything])
    scale = Scale(density=float(density.std()) or 1.0, pitch=float(pitch.std()) or 1.0, tempo=float(tempo.std()) or 1.0)
    members_a, members_b = members_of(a, members, 1, rng), members_of(b, members, 1000, rng)
    pooled = np.concatenate([utility(m, lib_a, scale) for m in members_a] + [utility(m, lib_b, scale) for m in members_b])
    scale.cuts = np.quantile(pooled, [0.2, 0.4, 0.6, 0.8])

    def ratings_of(people: list[Member], library: list[Track], per_member: int) -> list[tuple[int, Track, float]]:
        out = []
        for m in people:
            seen = [library[i] for i in rng.choice(len(library), size=min(per_member, len(library)), replace=False)]
            out += [(m.user_id, t, float(s)) for t, s in zip(seen, rate(m, seen, scale, rng))]
        return out

    ratings_a = ratings_of(members_a, lib_a, ratings_per_member)
    troll = Member(999, a.opposite(float(density.mean()), float(pitch.mean())), np.zeros(3))
    ratings_troll = ratings_of([troll], lib_a, troll_ratings)

    from engine.taste.train import train_taste

    folder = Path(work_dir or tempfile.mkdtemp(prefix="taste-bench-"))
    training: dict[str, dict[str, Any]] = {}

    def retrain(label: str, ratings: list[tuple[int, Track, float]], share: float) -> str:
        out = folder / label.replace(" ", "-")
        result = train_taste(export_of(ratings, out / "ratings.npz"), out, steps=steps, seed=seed, guild_id=1, max_member_share=share,
                             composer=composer, quiet=True)
        training[label] = {**result["metrics"], "promote": result["promote"], "reason": result["reason"]}
        return result["path"]

    taste_a = retrain("A", ratings_a, max_member_share)
    taste_troll_capped = retrain("A + one member with 1000 ratings, capped", ratings_a + ratings_troll, max_member_share)
    taste_troll_uncapped = retrain("A + one member with 1000 ratings, no cap", ratings_a + ratings_troll, 1.0)

    eval_rng = np.random.default_rng(seed + 1)
    new_a = requests_for(a, new_tracks, eval_rng)
    new_b = requests_for(b, new_tracks, eval_rng)
    base_a = compose(composer, new_a, 1)
    base_b = compose(composer, new_b, 1)

    def with_taste(requests: list[ComposeRequest], path: str | None) -> list[Track]:
        return compose(composer, [replace(r, taste=path) for r in requests], 1)

    score_rng = np.random.default_rng(seed + 2)
    outcomes = []
    before_a = mean_rating(members_a, base_a, scale, seed + 3)
    for label, path in (("A, after its retrain", taste_a), ("A, retrained with the 1000-rating member, capped", taste_troll_capped),
                        ("A, retrained with the 1000-rating member, no cap", taste_troll_uncapped)):
        steered = with_taste(new_a, path)
        outcomes.append(paired(label, before_a, mean_rating(members_a, steered, scale, seed + 3), score_rng))
    after_b = compose(composer, new_b, 1)  # B after A's retrain: B's requests carry no taste
    same = sum(x.density == y.density and x.pitch == y.pitch and np.array_equal(x.latent, y.latent) for x, y in zip(base_b, after_b))
    before_b = mean_rating(members_b, base_b, scale, seed + 4)
    outcomes.append(paired("B, after A's retrain", before_b, mean_rating(members_b, after_b, scale, seed + 4), score_rng, identical=same))
    outcomes.append(paired("B, if it were given A's taste (what isolation prevents)", before_b,
                           mean_rating(members_b, with_taste(new_b, taste_a), scale, seed + 4), score_rng))
    return TasteBenchmark(outcomes, training, {"A": len(lib_a), "B": len(lib_b)},
                          {"A": len(ratings_a), "one member": len(ratings_troll)})


__all__ = ["Community", "Outcome", "TasteBenchmark", "default_communities", "run"]
