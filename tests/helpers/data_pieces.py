"""Small pieces written on the fly for the data tests."""

from __future__ import annotations

import os
from pathlib import Path

from engine.music import Chord, Key, Meter, Note, Piece

# The same variable as the settings' shared_data_dir, so a run can point elsewhere (or nowhere, to check the skips).
SHARED_DATA = Path(os.environ.get("TUNESMITH_SHARED_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def scale_piece(bars: int = 8, key: Key = Key(0, "major"), meter: Meter = Meter(4, 4), tempo: float = 120.0, offset: int = 0) -> Piece:
    """A tune that walks up and down its key's scale in eighths, two chords a bar, bass on beats, a backbeat."""
    spb = meter.steps_per_bar
    scale = key.scale
    melody = []
    for i, step in enumerate(range(0, bars * spb, 2)):
        degree = (i + offset) % 14
        degree = degree if degree < 7 else 14 - degree
        melody.append(Note(60 + (scale[degree % 7] - key.tonic) % 12 + key.tonic, step, 2, 80 + i % 20))
    harmony = []
    half = spb // 2
    for b in range(bars * 2):
        root = (key.tonic + (0, 5, 7, 9)[b % 4]) % 12
        harmony.append(Chord(root, ("maj7", "min7", "7", "min")[b % 4], b * half, half))
    bass = [Note(36 + (key.tonic + (0, 5, 7, 9)[(s // half) % 4]) % 12, s, 4, 90) for s in range(0, bars * spb, 4)]
    drums = [Note(36 if (s // 4) % 2 == 0 else 38, s, 1, 100) for s in range(0, bars * spb, 4)]
    return Piece(bars=bars, key=key, meter=meter, tempo=tempo, melody=melody, harmony=harmony, bass=bass, drums=drums, name="scale", source="test")
