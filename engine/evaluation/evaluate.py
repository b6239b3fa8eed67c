"""The evaluation: style recognisability, mood agreement, muspy-style metrics and novelty for any generator.

`evaluate(generator, cache, n)` asks the generator for `n` pieces per style (in groups that differ
only in mood), and compares them with the cache's held-out real pieces:
- style accuracy of a classifier trained on real training segments only, on held-out real segments
  (the ceiling) and on the generated pieces (labelled with the style requested);
- mood agreement: for request pairs differing only in mood, how often the measured valence / arousal
  (engine.data.mood's estimator) move the way the requested moods do;
- metrics (engine.evaluation.metrics) of generated vs held-out real pieces, and their gap in units of
  the real pieces' spread;
- novelty: the longest melodic run shared with a training piece; 2 bars or more counts as a copy.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from engine.data.cache import CorpusCache
from engine.data.mood import estimate_valence_arousal
from engine.evaluation.features import cache_features, piece_features
from engine.evaluation.metrics import METRIC_NAMES, compute_metrics
from engine.evaluation.novelty import COPY_THRESHOLD_BARS, NoveltyIndex
from engine.evaluation.style_classifier import StyleClassifier
from engine.music import Meter, Piece
from engine.request import ComposeRequest
from engine.tokens import decode
from engine.labels import MOODS, STYLE_DERIVATION
from engine.evaluation.reports import plain, to_json

Generator = Callable[[list[ComposeRequest]], list[Piece]]
NEUTRAL_TEMPO = 110.0  # bpm every piece is measured at for the notes-only mood agreement
MIN_MOOD_GAP = 0.3  # requested moods closer than this on an axis say nothing about its direction
CLASSIFIER_TRAIN_PER_STYLE = 3000
REAL_PER_STYLE = 300


@dataclass
class StyleRow:
    style: str
    generated: int = 0
    real: int = 0
    real_accuracy: float = math.nan  # classifier on held-out real segments of this style (the ceiling)
    generated_accuracy: float = math.nan  # classifier on generated pieces requested in this style
    # The same under the second, independent judge (engine.evaluation.second_judge), when one is given.
    second_real_accuracy: float = math.nan
    second_generated_accuracy: float = math.nan
    # The style each judge most often reads the generated pieces as instead, e.g. "pop 21%" ("" when none is misread).
    generated_misread: str = ""
    second_generated_misread: str = ""
    valence_agreement: float = math.nan
    arousal_agreement: float = math.nan
    # The same with every piece measured at one tempo: what the notes say, without the tempo an engine picks per mood.
    valence_agreement_notes: float = math.nan
    arousal_agreement_notes: float = math.nan
    mood_pairs: int = 0
    copy_rate: float = math.nan  # share of generated pieces sharing >= 2 bars with a training melody
    longest_shared_bars: float = math.nan  # mean over generated pieces
    metrics_generated: dict[str, float] = field(default_factory=dict)
    metrics_real: dict[str, float] = field(default_factory=dict)
    metric_gap: float = math.nan  # mean |generated - real| / real std over the metrics


@dataclass
class EvaluationReport:
    generator: str
    rows: list[StyleRow]
    overall: StyleRow
    n_per_style: int
    copy_threshold_bars: float = COPY_THRESHOLD_BARS

    def to_dict(self) -> dict:
        return plain(self)

    def to_json(self) -> str:
        return to_json(self)

    def to_table(self):
        """Rich renderables: the summary per style and the metrics table."""
        from rich.console import Group
        from rich.table import Table

        def pct(v: float) -> str:
            return "-" if math.isnan(v) else f"{100 * v:.0f}%"

        def num(v: float, digits: int = 2) -> str:
            return "-" if math.isnan(v) else f"{v:.{digits}f}"

        summary = Table(title=f"Evaluation of {self.generator} ({self.n_per_style} pieces per style)")
        # Columns: style accuracy on real held-out pieces (ceiling) and generated ones; share of mood pairs whose
        # measured valence / arousal move as requested (arousal also measured at one tempo: the notes alone);
        # copy rate; mean longest shared run; metric gap (in real spreads).
        for col in ("style", "acc real", "acc gen", "judge 2 real", "judge 2 gen", "valence", "arousal", "arousal (notes)", f"copies >={self.copy_threshold_bars:g}b",
                    "shared bars", "metric gap"):
            summary.add_column(col, justify="left" if col == "style" else "right")
        for row in self.rows + [self.overall]:
            summary.add_row(row.style, pct(row.real_accuracy), pct(row.generated_accuracy), pct(row.second_real_accuracy),
                            pct(row.second_generated_accuracy), pct(row.valence_agreement),
                            pct(row.arousal_agreement), pct(row.arousal_agreement_notes), pct(row.copy_rate), num(row.longest_shared_bars),
                            num(row.metric_gap),
                            style="bold" if row is self.overall else None)
        misread = Table(title="Most common misreading")  # the style each judge reads generated pieces as instead
        for col in ("style", "judge 1", "judge 2"):
            misread.add_column(col)
        for row in self.rows:
            misread.add_row(row.style, row.generated_misread or "-", row.second_generated_misread or "-")
        metrics = Table(title="Metrics, generated / held-out real")
        metrics.add_column("style")
        for name in METRIC_NAMES:
            metrics.add_column(_SHORT_NAMES[name], justify="right")
        for row in self.rows + [self.overall]:
            metrics.add_row(row.style, *[f"{num(row.metrics_generated.get(m, math.nan))}/{num(row.metrics_real.get(m, math.nan))}" for m in METRIC_NAMES],
                            style="bold" if row is self.overall else None)
        return Group(summary, misread, metrics)


_SHORT_NAMES = {"pitch_entropy": "pitch H", "pitch_class_entropy": "pc H", "scale_consistency": "scale", "groove_consistency": "groove",
                "empty_beat_rate": "empty", "polyphony": "poly", "pitch_range": "range"}


def cache_fingerprint(cache: CorpusCache) -> str:
    """Identifies a cache's content cheaply (sizes, split and a sample of tokens)."""
    h = hashlib.sha1()
    h.update(str(len(cache)).encode())
    h.update(np.ascontiguousarray(cache.split).tobytes())
    h.update(np.ascontiguousarray(cache.melody[:: max(1, len(cache) // 500)]).tobytes())
    return h.hexdigest()[:16]


def _balanced_indices(cache: CorpusCache, split: str, per_style: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(cache.split_mask(split))
    chosen = []
    for k in range(len(cache.styles)):
        of_style = idx[cache.style[idx] == k]
        if len(of_style) > per_style:
            of_style = rng.choice(of_style, per_style, replace=False)
        chosen.append(np.sort(of_style))
    return np.concatenate(chosen) if chosen else idx


def train_style_classifier(cache: CorpusCache, *, per_style: int = CLASSIFIER_TRAIN_PER_STYLE, seed: int = 0) -> StyleClassifier:
    """The style classifier fitted on (up to `per_style` per style) training segments only."""
    rng = np.random.default_rng(seed)
    idx = _balanced_indices(cache, "train", per_style, rng)
    feats = cache_features(cache.melody[idx], cache.chords[idx])
    return StyleClassifier.fit(feats, cache.style[idx].astype(int), list(cache.styles), fingerprint=cache_fingerprint(cache))


def segment_piece(cache: CorpusCache, i: int) -> Piece:
    c = cache
    return decode(c.melody[i], c.chords[i], c.bass[i] if c.has_bass[i] else None, None, mode=int(c.mode[i]), tempo=float(c.tempo[i]))


def evaluable_styles(cache: CorpusCache) -> list[str]:
    """Styles with both training and held-out segments."""
    out = []
    for k, s in enumerate(cache.styles):
        mask = cache.style == k
        if (mask & cache.split_mask("train")).any() and (mask & cache.split_mask("test")).any():
            out.append(s)
    return out


def mood_requests(style: str, groups: int, bars: int = 8, seed: int = 0) -> list[ComposeRequest]:
    """`groups` sets of requests, one per mood, that differ only in mood within a set."""
    return [ComposeRequest(style=style, mood=m, bars=bars, seed=seed + g) for g in range(groups) for m in MOODS]


def _mood_agreement(requests: Sequence[ComposeRequest], measured: Sequence[tuple[float, float]]) -> tuple[float, float, int]:
    """Fractions of request pairs (same style and seed, different mood) where measured valence / arousal move the requested way."""
    by_group: dict[tuple, list[int]] = {}
    for i, r in enumerate(requests):
        by_group.setdefault((r.style, r.seed, r.bars), []).append(i)
    hits = {0: [], 1: []}
    for members in by_group.values():
        for a, b in combinations(members, 2):
            ma, mb = MOODS[requests[a].mood], MOODS[requests[b].mood]
            for axis, (ra, rb) in enumerate(((ma.valence, mb.valence), (ma.arousal, mb.arousal))):
                if abs(rb - ra) >= MIN_MOOD_GAP:
                    moved = measured[b][axis] - measured[a][axis]
                    hits[axis].append(float(np.sign(moved) == np.sign(rb - ra)))
    v = float(np.mean(hits[0])) if hits[0] else math.nan
    a = float(np.mean(hits[1])) if hits[1] else math.nan
    return v, a, len(hits[0]) + len(hits[1])


def _most_common_misreading(read: Sequence[str], style: str) -> str:
    wrong = Counter(r for r in read if r != style)
    if not wrong:
        return ""
    other, count = wrong.most_common(1)[0]
    return f"{other} {100 * count / len(read):.0f}%"


def _metric_table(pieces: Sequence[Piece]) -> np.ndarray:
    return np.array([[compute_metrics(p)[m] for m in METRIC_NAMES] for p in pieces], dtype=float).reshape(len(pieces), len(METRIC_NAMES))


def _means(table: np.ndarray) -> dict[str, float]:
    out = {}
    for j, name in enumerate(METRIC_NAMES):
        col = table[:, j] if len(table) else np.array([])
        col = col[np.isfinite(col)]
        out[name] = float(col.mean()) if len(col) else math.nan
    return out


def _gap(gen: np.ndarray, real: np.ndarray) -> float:
    gaps = []
    for j in range(len(METRIC_NAMES)):
        g = gen[:, j][np.isfinite(gen[:, j])] if len(gen) else np.array([])
        r = real[:, j][np.isfinite(real[:, j])] if len(real) else np.array([])
        if len(g) and len(r) > 1:
            # The floor keeps a metric that hardly varies in the real data (e.g. empty beats) from dominating.
            spread = max(r.std(), 0.1 * abs(r.mean()), 0.01)
            gaps.append(abs(g.mean() - r.mean()) / spread)
    return float(np.mean(gaps)) if gaps else math.nan


def evaluate(
    generator: Generator,
    cache: CorpusCache,
    n: int = 12,
    *,
    classifier: StyleClassifier | None = None,
    novelty: NoveltyIndex | None = None,
    styles: Sequence[str] | None = None,
    name: str = "generator",
    real_per_style: int = REAL_PER_STYLE,
    bars: int = 8,
    seed: int = 0,
    second_judge=None,
) -> EvaluationReport:
    """Evaluate `generator` (requests -> pieces) against `cache`'s real data; `n` pieces per style (rounded up to whole mood sets).
    With `second_judge` (engine.evaluation.second_judge.SecondJudge) style accuracy is also read by that independent judge."""
    rng = np.random.default_rng(seed)
    classifier = classifier or train_style_classifier(cache, seed=seed)
    novelty = novelty if novelty is not None else NoveltyIndex.from_cache(cache, "train")
    styles = list(styles) if styles is not None else evaluable_styles(cache)
    if not styles:
        raise ValueError("the cache has no style with both training and held-out (test) segments")
    groups = max(1, math.ceil(n / len(MOODS)))
    rows: list[StyleRow] = []
    all_gen_metrics, all_real_metrics = [], []
    pooled = {"gen_hits": [], "real_hits": [], "second_gen": [], "second_real": [], "copies": [], "shared": [], "valence": [], "arousal": [], "valence_notes": [],
              "arousal_notes": [], "pairs": 0}
    test = np.flatnonzero(cache.split_mask("test"))
    for style in styles:
        base = STYLE_DERIVATION.get(style, style)
        k = cache.styles.index(base)
        row = StyleRow(style)
        real_idx = test[cache.style[test] == k]
        if len(real_idx) > real_per_style:
            real_idx = np.sort(rng.choice(real_idx, real_per_style, replace=False))
        row.real = len(real_idx)
        if len(real_idx):
            real_pred = classifier.predict(cache_features(cache.melody[real_idx], cache.chords[real_idx]))
            hits = (real_pred == k).astype(float)
            row.real_accuracy = float(hits.mean())
            pooled["real_hits"].append(row.real_accuracy)
        requests = mood_requests(style, groups, bars=bars, seed=seed)
        pieces = generator(requests)
        if len(pieces) != len(requests):
            raise ValueError(f"the generator returned {len(pieces)} pieces for {len(requests)} requests")
        row.generated = len(pieces)
        four_four = [p for p in pieces if p.meter == Meter(4, 4) and p.melody]
        if four_four:
            pred = classifier.predict(np.stack([piece_features(p) for p in four_four]))
            row.generated_accuracy = float(np.mean(pred == k))
            row.generated_misread = _most_common_misreading([cache.styles[int(i)] for i in pred], base)
            pooled["gen_hits"].append(row.generated_accuracy)
        if second_judge is not None:
            if len(real_idx):
                read = second_judge.predict_pieces([segment_piece(cache, int(i)) for i in real_idx])
                row.second_real_accuracy = float(np.mean([r == base for r in read]))
                pooled["second_real"].append(row.second_real_accuracy)
            if four_four:
                second_read = second_judge.predict_pieces(four_four)
                row.second_generated_accuracy = float(np.mean([r == base for r in second_read]))
                row.second_generated_misread = _most_common_misreading(second_read, base)
                pooled["second_gen"].append(row.second_generated_accuracy)
        measured = [estimate_valence_arousal(p) for p in pieces]
        row.valence_agreement, row.arousal_agreement, row.mood_pairs = _mood_agreement(requests, measured)
        notes_only = [estimate_valence_arousal(replace(p, tempo=NEUTRAL_TEMPO)) for p in pieces]
        row.valence_agreement_notes, row.arousal_agreement_notes, _ = _mood_agreement(requests, notes_only)
        shared = [novelty.longest_shared_bars(p) for p in pieces]
        row.longest_shared_bars = float(np.mean(shared))
        row.copy_rate = float(np.mean([s >= COPY_THRESHOLD_BARS for s in shared]))
        pooled["copies"] += [s >= COPY_THRESHOLD_BARS for s in shared]
        pooled["shared"] += shared
        if not math.isnan(row.valence_agreement):
            pooled["valence"].append(row.valence_agreement)
        if not math.isnan(row.arousal_agreement):
            pooled["arousal"].append(row.arousal_agreement)
        for key, value in (("valence_notes", row.valence_agreement_notes), ("arousal_notes", row.arousal_agreement_notes)):
            if not math.isnan(value):
                pooled[key].append(value)
        pooled["pairs"] += row.mood_pairs
        gen_table = _metric_table(pieces)
        real_table = _metric_table([segment_piece(cache, int(i)) for i in real_idx])
        row.metrics_generated, row.metrics_real = _means(gen_table), _means(real_table)
        row.metric_gap = _gap(gen_table, real_table)
        all_gen_metrics.append(gen_table)
        all_real_metrics.append(real_table)
        rows.append(row)
    overall = StyleRow("overall")
    overall.generated = sum(r.generated for r in rows)
    overall.real = sum(r.real for r in rows)
    overall.real_accuracy = float(np.mean(pooled["real_hits"])) if pooled["real_hits"] else math.nan
    overall.generated_accuracy = float(np.mean(pooled["gen_hits"])) if pooled["gen_hits"] else math.nan
    overall.second_real_accuracy = float(np.mean(pooled["second_real"])) if pooled["second_real"] else math.nan
    overall.second_generated_accuracy = float(np.mean(pooled["second_gen"])) if pooled["second_gen"] else math.nan
    overall.valence_agreement = float(np.mean(pooled["valence"])) if pooled["valence"] else math.nan
    overall.arousal_agreement = float(np.mean(pooled["arousal"])) if pooled["arousal"] else math.nan
    overall.valence_agreement_notes = float(np.mean(pooled["valence_notes"])) if pooled["valence_notes"] else math.nan
    overall.arousal_agreement_notes = float(np.mean(pooled["arousal_notes"])) if pooled["arousal_notes"] else math.nan
    overall.mood_pairs = pooled["pairs"]
    overall.copy_rate = float(np.mean(pooled["copies"])) if pooled["copies"] else math.nan
    overall.longest_shared_bars = float(np.mean(pooled["shared"])) if pooled["shared"] else math.nan
    gen_all, real_all = np.concatenate(all_gen_metrics), np.concatenate(all_real_metrics)
    overall.metrics_generated, overall.metrics_real = _means(gen_all), _means(real_all)
    overall.metric_gap = float(np.nanmean([r.metric_gap for r in rows])) if rows else math.nan
    return EvaluationReport(name, rows, overall, groups * len(MOODS))
