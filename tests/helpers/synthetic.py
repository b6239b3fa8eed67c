"""Small synthetic corpus caches for the model tests: hand-made 8-bar pieces per style, encoded with
engine.tokens, so the tests run without the real corpus. Each style has its own rhythm, chords and drums,
so a model can learn to tell them apart within a few steps."""

from __future__ import annotations

import numpy as np

from engine.data.cache import SEGMENT_BARS, CorpusCache, pack_drums
from engine.music import Chord, Key, Note, Piece
from engine.tokens import encode
from engine.labels import MOODS

# style -> (melody note length in steps, chord progression (root, quality) per bar, drum pattern per bar)
_STYLE_SHAPES = {
    "jazz": (3, [(2, "min7"), (7, "7"), (0, "maj7"), (9, "7")], [(51, (0, 4, 6, 8, 12, 14)), (38, (4, 12))]),
    "folk": (2, [(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")], [(36, (0, 8)), (38, (4, 12)), (42, (0, 2, 4, 6, 8, 10, 12, 14))]),
    "classical": (8, [(0, "maj"), (7, "7"), (9, "min"), (5, "maj")], []),
}
_SCALE = (0, 2, 4, 5, 7, 9, 11, 12, 14, 16)


def synthetic_piece(style: str, rng: np.random.Generator) -> Piece:
    note_len, progression, drum_pattern = _STYLE_SHAPES[style]
    melody, harmony, bass, drums = [], [], [], []
    offset = int(rng.integers(0, 4))
    for bar in range(SEGMENT_BARS):
        root, quality = progression[(bar + offset) % len(progression)]
        harmony.append(Chord(root, quality, bar * 16, 16))
        bass.append(Note(36 + root, bar * 16, 8))
        bass.append(Note(36 + (root + 7) % 12, bar * 16 + 8, 8))
        degree = int(rng.integers(0, 5))
        for s in range(0, 16, note_len):
            if s + note_len > 16:
                break
            degree = int(np.clip(degree + rng.integers(-1, 2), 0, len(_SCALE) - 1))
            melody.append(Note(60 + _SCALE[degree], bar * 16 + s, note_len))
        for pitch, steps in drum_pattern:
            drums.extend(Note(pitch, bar * 16 + s, 1) for s in steps)
    return Piece(bars=SEGMENT_BARS, key=Key(0, "major"), tempo=100.0 if style == "classical" else 140.0, melody=melody,
                 harmony=harmony, bass=bass, drums=drums)


def synthetic_cache(per_style: int = 12, styles: tuple[str, ...] = ("jazz", "folk", "classical"), seed: int = 0) -> CorpusCache:
    rng = np.random.default_rng(seed)
    moods = list(MOODS)
    rows = []
    for si, style in enumerate(styles):
        for i in range(per_style):
            mood = moods[(si + i) % len(moods)]
            piece = synthetic_piece(style, rng)
            split = {5: 1, 4: 2}.get(i % 6, 0)  # of every six pieces, one for validation and one for testing
            rows.append((encode(piece), si, moods.index(mood), piece, split))
    n = len(rows)
    return CorpusCache(
        melody=np.stack([r[0].melody for r in rows]).astype(np.int16),
        bass=np.stack([r[0].bass for r in rows]).astype(np.int16),
        chords=np.stack([r[0].chords for r in rows]).astype(np.int16),
        drums=np.stack([pack_drums(r[0].drums) for r in rows]),
        has_bass=np.array([r[0].has_bass for r in rows]),
        has_drums=np.array([r[0].has_drums for r in rows]),
        mode=np.zeros(n, dtype=np.int8),
        style=np.array([r[1] for r in rows], dtype=np.int8),
        mood=np.array([r[2] for r in rows], dtype=np.int8),
        valence=np.array([MOODS[moods[r[2]]].valence for r in rows], dtype=np.float32),
        arousal=np.array([MOODS[moods[r[2]]].arousal for r in rows], dtype=np.float32),
        mood_labelled=np.ones(n, dtype=bool),
        tempo=np.array([r[3].tempo for r in rows], dtype=np.float32),
        split=np.array([r[4] for r in rows], dtype=np.int8),
        piece=np.arange(n, dtype=np.int32),
        first_bar=np.zeros(n, dtype=np.int16),
        pieces=[{"source": "synthetic", "name": f"{styles[r[1]]}-{i}", "style": styles[r[1]]} for i, r in enumerate(rows)],
        styles=list(styles),
        moods=moods,
    )
