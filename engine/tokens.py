"""Fixed-size token arrays for a piece: the representation the models learn and the corpus cache stores.

Per 16th step, melody and bass are each one token: 0 rest, 1 hold (the previous note continues),
2 + (pitch - low) a new note. Harmony is one token per beat: 0 no chord, else 1 + root * Q + quality.
Drums are a multi-hot row per step over a few General MIDI drum classes. Pieces are key-normalised
(tonic C) before encoding; the mode travels as data beside the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.music import STEPS_PER_BEAT, Chord, Key, Meter, Note, Piece

REST, HOLD, FIRST_PITCH_TOKEN = 0, 1, 2

MELODY_LOW, MELODY_HIGH = 48, 84  # C3..C6
BASS_LOW, BASS_HIGH = 28, 55  # E1..G3
MELODY_VOCAB = FIRST_PITCH_TOKEN + MELODY_HIGH - MELODY_LOW + 1
BASS_VOCAB = FIRST_PITCH_TOKEN + BASS_HIGH - BASS_LOW + 1

# The model's chord qualities; richer symbols reduce to these (a 9th to its 7th, and so on).
MODEL_QUALITIES: tuple[str, ...] = ("maj", "min", "7", "maj7", "min7", "dim", "hdim7", "dim7", "aug", "sus4", "6", "min6")
_REDUCE = {"sus2": "sus4", "minmaj7": "min", "7sus4": "7", "9": "7", "maj9": "maj7", "min9": "min7", "7b9": "7", "13": "7"}
CHORD_VOCAB = 1 + 12 * len(MODEL_QUALITIES)

# Drum classes and the General MIDI notes that map to each (the first is used when decoding).
DRUM_CLASSES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("kick", (36, 35)),
    ("snare", (38, 40, 37, 39)),
    ("closed_hat", (42, 44)),
    ("open_hat", (46,)),
    ("ride", (51, 59, 53)),
    ("crash", (49, 57, 52, 55)),
    ("low_tom", (45, 41, 43)),
    ("high_tom", (48, 50, 47)),
)
N_DRUMS = len(DRUM_CLASSES)
_DRUM_INDEX = {pitch: i for i, (_, pitches) in enumerate(DRUM_CLASSES) for pitch in pitches}

STEPS_PER_BAR = 16  # models work on 4/4 bars


def fold_into(pitch: int, low: int, high: int) -> int:
    """Move a pitch by octaves into [low, high]."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def chord_token(chord: Chord | None) -> int:
    if chord is None or chord.root is None:
        return 0
    quality = _REDUCE.get(chord.quality, chord.quality)
    return 1 + chord.root * len(MODEL_QUALITIES) + MODEL_QUALITIES.index(quality)


def token_chord(token: int, start: int, duration: int) -> Chord:
    if token <= 0:
        return Chord(None, "maj", start, duration)
    root, q = divmod(int(token) - 1, len(MODEL_QUALITIES))
    return Chord(root, MODEL_QUALITIES[q], start, duration)


def _encode_line(notes: list[Note], steps: int, low: int, high: int) -> np.ndarray:
    out = np.full(steps, REST, dtype=np.int16)
    for n in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if not 0 <= n.start < steps:
            continue
        p = fold_into(n.pitch, low, high)
        out[n.start] = FIRST_PITCH_TOKEN + p - low
        for s in range(n.start + 1, min(n.end, steps)):
            out[s] = HOLD
    return out


def _decode_line(tokens: np.ndarray, low: int, velocity: int) -> list[Note]:
    notes: list[Note] = []
    pitch, start = None, 0
    for s, t in enumerate([int(x) for x in tokens] + [REST]):
        if t == HOLD and pitch is not None:
            continue
        if pitch is not None:
            notes.append(Note(pitch, start, s - start, velocity))
            pitch = None
        if t >= FIRST_PITCH_TOKEN:
            pitch, start = low + t - FIRST_PITCH_TOKEN, s
    return notes


@dataclass
class Encoded:
    """One piece as arrays: melody [T], bass [T], chords [T/4], drums [T, N_DRUMS]; T = bars * 16."""

    melody: np.ndarray
    bass: np.ndarray
    chords: np.ndarray
    drums: np.ndarray
    has_bass: bool
    has_drums: bool
    mode: int  # 0 major, 1 minor


def encode(piece: Piece) -> Encoded:
    """Encode a 4/4 piece (any key; normalise it first to learn key-independently)."""
    if piece.meter != Meter(4, 4):
        raise ValueError(f"Token encoding needs 4/4, got {piece.meter.numerator}/{piece.meter.denominator}")
    steps = piece.bars * STEPS_PER_BAR
    drums = np.zeros((steps, N_DRUMS), dtype=np.uint8)
    for n in piece.drums:
        idx = _DRUM_INDEX.get(n.pitch)
        if idx is not None and 0 <= n.start < steps:
            drums[n.start, idx] = 1
    beats = steps // STEPS_PER_BEAT
    chords = np.array([chord_token(piece.chord_at(b * STEPS_PER_BEAT)) for b in range(beats)], dtype=np.int16)
    return Encoded(
        melody=_encode_line(piece.melody, steps, MELODY_LOW, MELODY_HIGH),
        bass=_encode_line(piece.bass, steps, BASS_LOW, BASS_HIGH),
        chords=chords,
        drums=drums,
        has_bass=bool(piece.bass),
        has_drums=bool(piece.drums),
        mode=0 if piece.key.mode == "major" else 1,
    )


def decode(
    melody: np.ndarray,
    chords: np.ndarray,
    bass: np.ndarray | None = None,
    drums: np.ndarray | None = None,
    *,
    mode: int = 0,
    tempo: float = 120.0,
) -> Piece:
    """Arrays back to a piece in C major/minor (transpose it to the requested key afterwards)."""
    steps = len(melody)
    harmony: list[Chord] = []
    for b, tok in enumerate(chords):
        start = b * STEPS_PER_BEAT
        if harmony and chord_token(harmony[-1]) == int(tok) and harmony[-1].end == start:
            last = harmony[-1]
            harmony[-1] = Chord(last.root, last.quality, last.start, last.duration + STEPS_PER_BEAT)
        else:
            harmony.append(token_chord(int(tok), start, STEPS_PER_BEAT))
    drum_notes: list[Note] = []
    if drums is not None:
        for s, i in zip(*np.nonzero(drums)):
            drum_notes.append(Note(DRUM_CLASSES[int(i)][1][0], int(s), 1, 90))
    return Piece(
        bars=steps // STEPS_PER_BAR,
        key=Key(0, "major" if mode == 0 else "minor"),
        tempo=tempo,
        melody=_decode_line(melody, MELODY_LOW, 96),
        harmony=harmony,
        bass=_decode_line(bass, BASS_LOW, 90) if bass is not None else [],
        drums=sorted(drum_notes, key=lambda n: (n.start, n.pitch)),
    )


def piece_to_arrays(piece: Piece) -> dict[str, np.ndarray]:
    """A piece as named arrays for storage: key-normalised tokens; the key travels separately."""
    normalised, _ = piece.normalised()
    enc = encode(normalised)
    return {"melody": enc.melody, "bass": enc.bass, "chords": enc.chords, "drums": enc.drums, "mode": np.array([enc.mode], dtype=np.int8)}


def piece_from_arrays(arrays: dict[str, np.ndarray], *, key: Key, tempo: float) -> Piece:
    """The inverse of piece_to_arrays: decode and move back to `key`."""
    mode = int(np.asarray(arrays.get("mode", [0 if key.mode == "major" else 1])).reshape(-1)[0])
    drums = arrays.get("drums")
    piece = decode(arrays["melody"], arrays["chords"], arrays.get("bass"), drums if drums is not None and np.asarray(drums).ndim == 2 else None, mode=mode, tempo=tempo)
    shift = key.tonic if key.tonic <= 6 else key.tonic - 12
    return piece.transposed(shift)
