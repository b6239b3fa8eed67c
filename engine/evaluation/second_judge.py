"""A second, independent style judge: multinomial naive Bayes over hashed melodic n-grams.

It shares nothing with engine.evaluation.style_classifier but the data: that one is a discriminative
multinomial logistic regression on global histograms of melody *and chords*; this one is a generative
model (naive Bayes, Laplace smoothing, equal priors) that reads the **melody only**, as sequences:
- interval / rhythm bigrams: each note is (semitones from the previous note, clipped to ±12, "start"
  for the first; time to the next onset in 16ths, bucketed);
- degree / metre bigrams: each note is (pitch class above the key's tonic, position in the bar:
  downbeat, other beat, 8th off-beat, 16th);
- single notes' onset step in the bar, register (MIDI pitch // 4) and time to the next onset.
N-grams are hashed (CRC-32, stable across runs) into N_BUCKETS counts, which are weighted as in Rennie
et al. (2003): log(1 + count) times the inverse document frequency, then scaled to unit length.
(Trigrams, and complement naive Bayes, were tried on the validation split and did worse.) Pieces are key-normalised first
(engine.music.Piece.normalised), so a tune reads the same in every key. Trained on the corpus cache's
training split only; its accuracy on the held-out test split is its ceiling, stored with the weights.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.music import Meter, Piece

JUDGE_VERSION = 2
N_BUCKETS = 1 << 15
INTERVAL_CLIP = 12
IOI_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16)  # a note's time to the next onset, in 16ths, rounded down to one of these
SHIPPED_FILE = Path(__file__).with_name("second_judge.npz")
DEFAULT_ALPHA = 0.5


def _ioi_bucket(steps: int) -> int:
    return max(b for b in IOI_BUCKETS if b <= max(1, steps))


def _metre_class(step_in_bar: int) -> str:
    if step_in_bar == 0:
        return "D"
    if step_in_bar % 4 == 0:
        return "B"
    return "E" if step_in_bar % 2 == 0 else "S"


def melody_ngrams(piece: Piece) -> list[str]:
    """The n-gram strings of a piece's melody (key-normalised first); empty for a piece without melody."""
    normal, _ = piece.normalised()
    notes = sorted(normal.melody, key=lambda n: (n.start, n.pitch))
    if not notes:
        return []
    spb = piece.steps_per_bar
    onsets = [n.start for n in notes] + [notes[-1].start + notes[-1].duration]
    rhythm, degree, single = [], [], []
    for i, n in enumerate(notes):
        interval = "s" if i == 0 else str(max(-INTERVAL_CLIP, min(INTERVAL_CLIP, n.pitch - notes[i - 1].pitch)))
        ioi = onsets[i + 1] - n.start
        rhythm.append(f"{interval}/{_ioi_bucket(ioi)}")
        degree.append(f"{n.pitch % 12}@{_metre_class(n.start % spb)}")
        single += [f"pos|{n.start % spb}", f"reg|{n.pitch // 4}"] + ([f"ioi|{min(16, ioi)}"] if i + 1 < len(notes) else [])
    grams = [f"r2|{a}|{b}" for a, b in zip(rhythm, rhythm[1:])]
    grams += [f"d2|{a}|{b}" for a, b in zip(degree, degree[1:])]
    return grams + single


def ngram_counts(piece: Piece) -> np.ndarray:
    """Hashed n-gram counts [N_BUCKETS] of one piece."""
    counts = np.zeros(N_BUCKETS, np.float32)
    for gram in melody_ngrams(piece):
        counts[zlib.crc32(gram.encode()) % N_BUCKETS] += 1
    return counts


def weighted(counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """log(1 + count) * idf, each row scaled to unit length (an empty piece stays zero)."""
    x = np.log1p(counts) * idf
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def count_matrix(pieces: Sequence[Piece]) -> np.ndarray:
    return np.stack([ngram_counts(p) for p in pieces]) if pieces else np.zeros((0, N_BUCKETS), np.float32)


@dataclass
class SecondJudge:
    """Naive Bayes log-likelihoods per style and the ceiling measured when it was built."""

    styles: list[str]
    log_likelihood: np.ndarray  # [C, N_BUCKETS] log P(bucket | style)
    present: np.ndarray  # bool [C]: styles it was trained on (others are never predicted)
    idf: np.ndarray  # [N_BUCKETS] inverse document frequency of each bucket in the training pieces
    fingerprint: str = ""  # of the corpus cache it was trained on
    ceiling: dict[str, float] = field(default_factory=dict)  # accuracy on held-out real pieces, per style and "overall"
    alpha: float = DEFAULT_ALPHA

    @classmethod
    def fit(cls, counts: np.ndarray, labels: np.ndarray, styles: list[str], *, alpha: float = DEFAULT_ALPHA,
            fingerprint: str = "") -> "SecondJudge":
        """Fit on n-gram counts [N, N_BUCKETS] and style indices [N]. Every style's pieces weigh the same in
        total (so a large style does not dominate the shared counts' smoothing), priors are equal."""
        raw = np.asarray(counts, np.float32)
        y = np.asarray(labels, int)
        if len(raw) == 0:
            raise ValueError("no training pieces for the second judge")
        idf = np.log(len(raw) / (1.0 + (raw > 0).sum(axis=0))).clip(min=0.0).astype(np.float32) + 1.0
        x = weighted(raw, idf).astype(np.float64)
        n_classes = len(styles)
        totals = np.zeros((n_classes, x.shape[1]))
        for c in range(n_classes):
            rows = x[y == c]
            if len(rows):
                totals[c] = rows.sum(axis=0) / len(rows)  # mean counts: each style weighs the same
        present = np.bincount(y, minlength=n_classes) > 0
        smoothed = totals + alpha / x.shape[1] * max(1.0, totals.sum(axis=1).mean())
        log_likelihood = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
        return cls(list(styles), log_likelihood.astype(np.float32), present, idf, fingerprint, {}, alpha)

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """Log-posterior up to a constant [N, C] (equal priors); styles not trained on get -inf."""
        s = weighted(np.atleast_2d(np.asarray(counts, np.float32)), self.idf) @ self.log_likelihood.T
        s[:, ~self.present] = -np.inf
        return s

    def predict(self, counts: np.ndarray) -> np.ndarray:
        """Style indices (into `styles`) for counts [N, N_BUCKETS]."""
        return np.argmax(self.scores(counts), axis=1)

    def predict_pieces(self, pieces: Sequence[Piece]) -> list[str]:
        return [self.styles[i] for i in self.predict(count_matrix(pieces))]

    def save(self, path: str | Path = SHIPPED_FILE) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"version": JUDGE_VERSION, "styles": self.styles, "fingerprint": self.fingerprint, "buckets": N_BUCKETS,
                  "ceiling": self.ceiling, "alpha": self.alpha}
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                                log_likelihood=self.log_likelihood.astype(np.float16), present=self.present, idf=self.idf.astype(np.float16))
        return path

    @classmethod
    def load(cls, path: str | Path = SHIPPED_FILE) -> "SecondJudge":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                log_likelihood, present = data["log_likelihood"].astype(np.float32), data["present"].astype(bool)
                idf = data["idf"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a second-judge file ({exc})") from exc
        if header.get("version") != JUDGE_VERSION or header.get("buckets") != N_BUCKETS:
            raise ValueError(f"{path}: second judge from another version; rebuild it with `tunesmith eval --build-second-judge`")
        return cls(header["styles"], log_likelihood, present, idf, header.get("fingerprint", ""), header.get("ceiling", {}),
                   header.get("alpha", DEFAULT_ALPHA))


def accuracy_by_style(judge: SecondJudge, counts: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Share read as their own style, per style present in `labels`, and "overall" (the mean over styles)."""
    pred = judge.predict(counts) if len(counts) else np.zeros(0, int)
    out = {}
    for c in sorted(set(np.asarray(labels, int).tolist())):
        out[judge.styles[c]] = float(np.mean(pred[labels == c] == c))
    out["overall"] = float(np.mean(list(out.values()))) if out else math.nan
    return out


# --- training on the corpus cache ----------------------------------------------------------------

TRAIN_PER_STYLE = 3000  # training segments per style, at most (spread over the style's pieces by a seeded draw)
CEILING_PER_STYLE = 300  # held-out segments per style for the ceiling, as the evaluation's real sample
ALPHAS = (0.1, 0.3, 1.0, 3.0)  # smoothing strengths tried; the validation split picks one


def cache_piece(cache, i: int) -> Piece:
    """Segment `i` of a corpus cache as a Piece (melody only matters here; key C major / minor)."""
    from engine.tokens import decode

    return decode(cache.melody[i], cache.chords[i], None, None, mode=int(cache.mode[i]), tempo=float(cache.tempo[i]))


def _sample(cache, split: str, per_style: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(cache.split_mask(split))
    chosen = []
    for k in range(len(cache.styles)):
        of_style = idx[cache.style[idx] == k]
        if len(of_style) > per_style:
            of_style = np.sort(rng.choice(of_style, per_style, replace=False))
        chosen.append(of_style)
    return np.concatenate(chosen) if chosen else idx


def cache_counts(cache, indices: np.ndarray) -> np.ndarray:
    return count_matrix([cache_piece(cache, int(i)) for i in indices])


def train_second_judge(cache, *, per_style: int = TRAIN_PER_STYLE, ceiling_per_style: int = CEILING_PER_STYLE, seed: int = 0,
                       fingerprint: str = "", log=lambda _msg: None) -> SecondJudge:
    """Fit on the training split, choose the smoothing on the validation split, and measure the ceiling on the
    test split (stored in the judge). The test split is read once, after every choice is made."""
    rng = np.random.default_rng(seed)
    train = _sample(cache, "train", per_style, rng)
    log(f"second judge: counting n-grams of {len(train)} training segments")
    x_train, y_train = cache_counts(cache, train), cache.style[train].astype(int)
    valid = _sample(cache, "valid", ceiling_per_style, rng)
    x_valid, y_valid = cache_counts(cache, valid), cache.style[valid].astype(int)
    styles = list(cache.styles)
    best = None
    for alpha in ALPHAS:
        judge = SecondJudge.fit(x_train, y_train, styles, alpha=alpha, fingerprint=fingerprint)
        score = accuracy_by_style(judge, x_valid, y_valid)["overall"] if len(valid) else 0.0
        log(f"second judge: alpha {alpha}: validation accuracy {score:.3f}")
        if best is None or score > best[0]:
            best = (score, judge)
    judge = best[1]
    test = _sample(cache, "test", ceiling_per_style, rng)
    judge.ceiling = accuracy_by_style(judge, cache_counts(cache, test), cache.style[test].astype(int)) if len(test) else {}
    return judge
