"""Reference generators for the evaluation: a trivial random one (the floor) and held-out real pieces (the ceiling).

Both follow the engine's generator contract, `generate(requests: list[ComposeRequest]) -> list[Piece]`.
"""

from __future__ import annotations

import numpy as np

from engine.data.cache import CorpusCache
from engine.music import STEPS_PER_BEAT, Chord, Key, Note, Piece
from engine.request import ComposeRequest
from engine.tokens import MODEL_QUALITIES, decode
from engine.labels import MOODS, STYLE_DERIVATION


class RandomGenerator:
    """Uniformly random notes and chords, ignoring style and mood: what any model must beat."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, requests: list[ComposeRequest]) -> list[Piece]:
        return [self._one(r) for r in requests]

    def _one(self, request: ComposeRequest) -> Piece:
        rng = self.rng
        steps = request.bars * 16
        melody, t = [], 0
        while t < steps:
            dur = int(rng.choice([1, 2, 2, 4, 4, 6, 8]))
            if rng.random() < 0.8:
                melody.append(Note(int(rng.integers(55, 80)), t, min(dur, steps - t), int(rng.integers(60, 110))))
            t += dur
        harmony = []
        for bar in range(request.bars):
            quality = MODEL_QUALITIES[int(rng.integers(len(MODEL_QUALITIES)))]
            harmony.append(Chord(int(rng.integers(12)), quality, bar * 16, 16))
        bass = [Note(int(rng.integers(36, 52)), b * STEPS_PER_BEAT, STEPS_PER_BEAT, 80) for b in range(steps // STEPS_PER_BEAT)]
        return Piece(bars=request.bars, key=Key(0, "major"), tempo=float(request.tempo or 110), melody=melody, harmony=harmony,
                     bass=bass, source="random")


class HeldOutGenerator:
    """Answers each request with a real segment of the requested style from one split (default test),
    preferring the requested mood: evaluating it measures the real data against itself."""

    def __init__(self, cache: CorpusCache, split: str = "test", seed: int = 0) -> None:
        self.cache = cache
        self.rng = np.random.default_rng(seed)
        self.indices = np.flatnonzero(cache.split_mask(split))

    def __call__(self, requests: list[ComposeRequest]) -> list[Piece]:
        return [self._one(r) for r in requests]

    def _one(self, request: ComposeRequest) -> Piece:
        c = self.cache
        style = STYLE_DERIVATION.get(request.style or "", request.style)
        pool = self.indices
        if style in c.styles:
            by_style = pool[c.style[pool] == c.styles.index(style)]
            pool = by_style if len(by_style) else pool
        if request.mood in c.moods:
            target = MOODS[request.mood]
            # The closest segments on the valence/arousal plane (labelled or estimated).
            dist = (c.valence[pool] - target.valence) ** 2 + (c.arousal[pool] - target.arousal) ** 2
            pool = pool[np.argsort(dist, kind="stable")[: max(1, len(pool) // 4)]]
        if len(pool) == 0:
            raise ValueError("the cache has no segments in this split")
        i = int(self.rng.choice(pool))
        piece = decode(c.melody[i], c.chords[i], c.bass[i] if c.has_bass[i] else None, c.drums_multi_hot(i) if c.has_drums[i] else None,
                       mode=int(c.mode[i]), tempo=float(c.tempo[i]))
        bars = min(request.bars, piece.bars)
        piece = piece.window(0, bars) if bars < piece.bars else piece
        piece.source = "held-out"
        piece.name = f"{c.pieces[int(c.piece[i])]['source']}:{c.pieces[int(c.piece[i])]['name']}"
        return piece
