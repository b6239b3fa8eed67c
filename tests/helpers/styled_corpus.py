"""A small synthetic corpus with three clearly different styles, built in memory for the evaluation tests."""

from __future__ import annotations

import numpy as np

from engine.data.cache import SPLITS, CorpusCache
from engine.data.segments import piece_segments
from engine.music import Chord, Key, Note, Piece

STYLES = ["jazz", "folk", "rock"]


def synthetic_piece(style: str, seed: int, bars: int = 12) -> Piece:
    """A piece with its style's fingerprint: jazz = chromatic eighths over sevenths, folk = diatonic
    quarters over triads, rock = repeated sixteenths on a riff over major chords."""
    rng = np.random.default_rng(seed)
    melody, harmony = [], []
    key = Key(int(rng.integers(12)), "major")
    t = 0
    while t < bars * 16:
        if style == "jazz":
            pitch = int(60 + key.tonic % 12 + rng.choice([-1, 1, 2, 3, 4, 6, 8, 10]) + 12 * (rng.random() < 0.3))
            dur = int(rng.choice([2, 2, 2, 3, 1]))
        elif style == "folk":
            pitch = int(60 + key.tonic % 12 + key.scale.index(key.scale[int(rng.integers(7))]) * 0 + (0, 2, 4, 5, 7, 9, 11)[int(rng.integers(7))])
            dur = int(rng.choice([4, 4, 8, 2]))
        else:
            pitch = int(55 + key.tonic % 12 + rng.choice([0, 0, 0, 7, 10]))
            dur = int(rng.choice([1, 1, 2]))
        melody.append(Note(pitch, t, dur, 90))
        t += dur
    for b in range(bars):
        if style == "jazz":
            root, quality = (key.tonic + (2, 7, 0, 9)[b % 4]) % 12, ("min7", "7", "maj7", "7")[b % 4]
        elif style == "folk":
            root, quality = (key.tonic + (0, 5, 7, 0)[b % 4]) % 12, "maj"
        else:
            root, quality = (key.tonic + (0, 10, 5, 0)[b % 4]) % 12, "maj"
        harmony.append(Chord(root, quality, b * 16, 16))
    return Piece(bars=bars, key=key, melody=melody, harmony=harmony, source="synthetic", name=f"{style}{seed}", tempo=110.0)


def make_cache(pieces_per_style: int = 30) -> CorpusCache:
    rows, metas = [], []
    for s_idx, style in enumerate(STYLES):
        for k in range(pieces_per_style):
            piece = synthetic_piece(style, seed=1000 * s_idx + k)
            split = 2 if k % 5 == 0 else 1 if k % 5 == 1 else 0
            pid = len(metas)
            metas.append({"source": "synthetic", "name": piece.name, "style": style, "split": SPLITS[split]})
            segs, _ = piece_segments(piece)
            for seg in segs:
                rows.append((seg, s_idx, split, pid))
    n = len(rows)
    enc = [r[0].encoded for r in rows]
    return CorpusCache(
        melody=np.stack([e.melody for e in enc]), bass=np.stack([e.bass for e in enc]), chords=np.stack([e.chords for e in enc]),
        drums=np.stack([r[0].packed_drums for r in rows]), has_bass=np.zeros(n, bool), has_drums=np.zeros(n, bool),
        mode=np.zeros(n, np.int8), style=np.array([r[1] for r in rows], np.int8), mood=np.zeros(n, np.int8),
        valence=np.zeros(n, np.float32), arousal=np.zeros(n, np.float32), mood_labelled=np.zeros(n, bool),
        tempo=np.full(n, 110.0, np.float32), split=np.array([r[2] for r in rows], np.int8), piece=np.array([r[3] for r in rows], np.int32),
        first_bar=np.array([r[0].first_bar for r in rows], np.int16), pieces=metas, styles=list(STYLES),
        moods=["happy", "energetic", "calm", "dreamy", "sad", "dark"],
    )
