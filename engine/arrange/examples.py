"""Small hand-made pieces for demos, benchmarks and tests: a jazz ii-V-I and a folk tune in 3/4 or 4/4."""

from __future__ import annotations

from engine.music import Chord, Key, Meter, Note, Piece, pitch_class


def _chords(symbols: list[tuple[str, str]], bars: int, steps_per_bar: int, per_bar: int = 1) -> list[Chord]:
    length = steps_per_bar // per_bar
    return [Chord(pitch_class(root), quality, i * length, length)
            for i, (root, quality) in enumerate(symbols[j % len(symbols)] for j in range(bars * per_bar))]


def ii_v_i(bars: int = 8, tempo: float = 140.0) -> Piece:
    """Dm7 | G7 | Cmaj7 | Cmaj7 over and over, with an eighth-note line that rests at the end of each bar."""
    harmony = _chords([("D", "min7"), ("G", "7"), ("C", "maj7"), ("C", "maj7")], bars, 16)
    line = [62, 65, 69, 72, 71, 67, 65, 64, 59, 62, 65, 67, 64, 67, 71, 74, 72, 69, 67, 64]
    melody = [Note(line[i % len(line)], i * 2, 2, 96) for i in range(bars * 8) if i % 8 != 7]
    return Piece(bars=bars, key=Key(0, "major"), tempo=tempo, melody=melody, harmony=harmony)


def folk_tune(bars: int = 8, tempo: float = 110.0, meter: Meter = Meter(4, 4)) -> Piece:
    """G | C | G | D7 in G major, a stepwise quarter-note melody."""
    spb = meter.steps_per_bar
    harmony = _chords([("G", "maj"), ("C", "maj"), ("G", "maj"), ("D", "7")], bars, spb)
    tune = [67, 69, 71, 67, 72, 71, 69, 67, 71, 72, 74, 71, 69, 67, 66, 62]
    melody = [Note(tune[i % len(tune)], i * 4, 4, 92) for i in range(bars * spb // 4)]
    return Piece(bars=bars, key=Key(7, "major"), meter=meter, tempo=tempo, melody=melody, harmony=harmony)
