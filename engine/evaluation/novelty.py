"""Copy detection: the longest melodic run a piece shares with any training piece, in bars.

A melody is a sequence of events (interval class to the next note, time to the next onset):
transposition and octave displacement do not hide a copy, and the rhythm has to match too. The index holds hashed n-grams of
`ngram` consecutive events with the training piece each came from. A query's matching n-grams are
chained while one training piece contains all of them, so a run is never stitched together from
different pieces. The index is a small .npz that ships with a model checkpoint, so the copy check
works without the training data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.music import Meter, Piece
from engine.tokens import FIRST_PITCH_TOKEN, MELODY_HIGH, MELODY_LOW, STEPS_PER_BAR, encode

NOVELTY_VERSION = 1
DEFAULT_NGRAM = 5  # events per n-gram: 6 notes, about a bar of eighths
COPY_THRESHOLD_BARS = 2.0
_MAX_IOI = 32  # longer gaps are one "long" value: a two-bar rest is not a rhythm to copy
_MULT = np.uint64(0x9E3779B97F4A7C15)


def melody_events(onsets: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """Events [n-1, 2]: (interval class, inter-onset steps) between consecutive melody notes.

    Intervals are taken modulo the octave (-5..+6): the token range folds high and low notes by
    octaves, and a quote moved by an octave here and there is still a quote.
    """
    if len(onsets) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    interval_class = (np.diff(pitches) + 5) % 12 - 5
    return np.stack([interval_class, np.minimum(np.diff(onsets), _MAX_IOI)], axis=1).astype(np.int64)


def token_melody(melody: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and pitches of a melody token line."""
    onsets = np.flatnonzero(np.asarray(melody) >= FIRST_PITCH_TOKEN)
    return onsets, np.asarray(melody)[onsets].astype(np.int64) - FIRST_PITCH_TOKEN + MELODY_LOW


def piece_melody(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and pitches of a piece's melody, folded into the token range like the training data."""
    if piece.meter == Meter(4, 4):
        return token_melody(encode(piece).melody)
    notes = sorted(piece.melody, key=lambda n: n.start)
    pitches = np.array([n.pitch for n in notes], dtype=np.int64)
    while len(pitches) and (pitches.min() < MELODY_LOW or pitches.max() > MELODY_HIGH):
        pitches = np.where(pitches < MELODY_LOW, pitches + 12, np.where(pitches > MELODY_HIGH, pitches - 12, pitches))
    return np.array([n.start for n in notes], dtype=np.int64), pitches


def ngram_hashes(events: np.ndarray, n: int) -> np.ndarray:
    """One uint64 hash per window of `n` consecutive events."""
    if len(events) < n:
        return np.zeros(0, dtype=np.uint64)
    codes = ((events[:, 0] + 64) * 64 + events[:, 1]).astype(np.uint64)  # interval in [-64, 63], ioi in [0, 32]
    h = np.zeros(len(events) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = (h ^ codes[k: len(codes) - n + 1 + k]) * _MULT
            h ^= h >> np.uint64(29)
    return h


@dataclass
class NoveltyIndex:
    hashes: np.ndarray  # uint64 [M], sorted
    pieces: np.ndarray  # int32 [M]: training piece of each hash
    ngram: int = DEFAULT_NGRAM
    piece_names: list[str] | None = None

    @classmethod
    def build(cls, melodies: Iterable[tuple[int, np.ndarray, np.ndarray]], *, ngram: int = DEFAULT_NGRAM, piece_names: Sequence[str] | None = None) -> "NoveltyIndex":
        """From (piece id, onsets, pitches) triples; one piece may come as several (overlapping) segments."""
        all_h, all_p = [], []
        for pid, onsets, pitches in melodies:
            h = ngram_hashes(melody_events(onsets, pitches), ngram)
            all_h.append(h)
            all_p.append(np.full(len(h), pid, dtype=np.int32))
        if not all_h:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.int32), ngram, list(piece_names) if piece_names else None)
        h = np.concatenate(all_h)
        p = np.concatenate(all_p)
        pairs = np.unique(np.stack([h, p.astype(np.uint64)], axis=1), axis=0)  # sorted by hash, then piece
        return cls(pairs[:, 0].copy(), pairs[:, 1].astype(np.int32), ngram, list(piece_names) if piece_names else None)

    @classmethod
    def from_cache(cls, cache, split: str = "train", *, ngram: int = DEFAULT_NGRAM) -> "NoveltyIndex":
        """From a CorpusCache's segments of one split (segments of a piece share its id)."""
        mask = cache.split_mask(split)
        idx = np.flatnonzero(mask)
        names = [f"{p['source']}:{p['name']}" for p in cache.pieces]
        return cls.build(((int(cache.piece[i]), *token_melody(cache.melody[i])) for i in idx), ngram=ngram, piece_names=names)

    def __len__(self) -> int:
        return int(len(self.hashes))

    def longest_shared(self, onsets: np.ndarray, pitches: np.ndarray) -> tuple[float, int | None]:
        """(bars, training piece id) of the longest run shared with one training piece; (0, None) when none."""
        hashes = ngram_hashes(melody_events(onsets, pitches), self.ngram)
        # The index rows of every query n-gram in one search; most n-grams are in no training piece.
        lo = np.searchsorted(self.hashes, hashes, side="left").tolist()
        hi = np.searchsorted(self.hashes, hashes, side="right").tolist()
        best, best_piece = 0.0, None
        i = 0
        while i < len(hashes):
            if lo[i] == hi[i]:
                i += 1
                continue
            candidates = self.pieces[lo[i] : hi[i]]
            j = i
            while j + 1 < len(hashes) and lo[j + 1] < hi[j + 1]:
                nxt = np.intersect1d(candidates, self.pieces[lo[j + 1] : hi[j + 1]], assume_unique=True)
                if len(nxt) == 0:
                    break
                candidates, j = nxt, j + 1
            # n-grams i..j cover notes i..j+ngram: from the first onset to the last note's onset plus a step.
            span = (onsets[j + self.ngram] - onsets[i]) + 1
            bars = span / STEPS_PER_BAR
            if bars > best:
                best, best_piece = float(bars), int(candidates[0])
            i = j + 1 if j > i else i + 1
        return round(best, 3), best_piece

    def longest_shared_bars(self, piece: Piece) -> float:
        """Bars of the longest melodic run (intervals and rhythm) this piece shares with a training piece."""
        return self.longest_shared(*piece_melody(piece))[0]

    def longest_shared_bars_of_tokens(self, melody: np.ndarray) -> float:
        """longest_shared_bars of the piece a 4/4 melody token line decodes to, in any key: the events are
        intervals modulo the octave and onset gaps, which transposing and folding by octaves do not change,
        so the piece need not be encoded back to tokens."""
        return self.longest_shared(*token_melody(melody))[0]

    def is_copy(self, piece: Piece, threshold_bars: float = COPY_THRESHOLD_BARS) -> bool:
        return self.longest_shared_bars(piece) >= threshold_bars

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"version": NOVELTY_VERSION, "ngram": self.ngram, "piece_names": self.piece_names}
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8), hashes=self.hashes, pieces=self.pieces)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "NoveltyIndex":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                hashes, pieces = data["hashes"], data["pieces"]
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a novelty index file ({exc})") from exc
        if header.get("version") != NOVELTY_VERSION:
            raise ValueError(f"{path}: novelty index version {header.get('version')} is not {NOVELTY_VERSION}; rebuild it")
        return cls(hashes, pieces, int(header["ngram"]), header.get("piece_names"))
