"""Fixed-size token arrays for a piece: the representation the models learn and the corpus cache stores.

Per 16th step, melody and bass are each one token: 0 rest, 1 hold (the previous note continues),
2 + (pitch - low) a new note. Harmony is one token per beat: 0 no chord, else 1 + root * Q + quality.
Drums are a multi-hot row per step over a few General MIDI drum classes. Pieces are key-normalised
(tonic C) before encoding; the mode travels as data beside the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


def fold_array(pitches: np.ndarray, low: int, high: int) -> np.ndarray:
    """fold_into for an array of pitches: raise by octaves to `low`, then lower by octaves to `high`."""
    pitches = np.where(pitches < low, pitches + 12 * ((low - pitches + 11) // 12), pitches)
    return np.where(pitches > high, pitches - 12 * ((pitches - high + 11) // 12), pitches)


def line_spans(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and ends (exclusive) of a token line's notes: a note lasts until the next token that is not a HOLD."""
    tokens = np.asarray(tokens)
    onsets = np.flatnonzero(tokens >= FIRST_PITCH_TOKEN)
    breaks = np.append(np.flatnonzero(tokens != HOLD), len(tokens))
    return onsets, breaks[np.searchsorted(breaks, onsets, side="right")]


@lru_cache(maxsize=None)
def _token_pitches(low: int, fold: tuple[int, int] | None) -> np.ndarray:
    """The pitch of each token value (up to 127 semitones above `low`), folded by octaves into `fold` when given:
    a line's pitches are then one lookup."""
    pitches = np.arange(FIRST_PITCH_TOKEN + 128) + (low - FIRST_PITCH_TOKEN)
    return pitches if fold is None else fold_array(pitches, *fold)


def line_notes(tokens: np.ndarray, low: int, velocity: int, fold: tuple[int, int] | None = None) -> list[Note]:
    """The notes of a token line, pitch `low` + (token - FIRST_PITCH_TOKEN), folded by octaves into `fold` when given.
    Vectorised over the line: Notes are made once, at their final pitch."""
    tokens = np.asarray(tokens)
    onsets, ends = line_spans(tokens)
    pitches = _token_pitches(low, fold)[tokens[onsets]]
    return [Note(p, s, e - s, velocity) for p, s, e in zip(pitches.tolist(), onsets.tolist(), ends.tolist())]


def decode_harmony(chords: np.ndarray, shift: int | None = None) -> list[Chord]:
    """One Chord per run of beats with the same chord token; with `shift`, transposed as Chord.transposed does.

    A beat joins the run before it when its token equals that run's (0 for N.C., so a negative token
    starts a new N.C. run but a 0 after it joins it), as chord_token(previous chord) == token did."""
    tokens = np.asarray(chords).astype(np.int64)
    if not len(tokens):
        return []
    starts = np.flatnonzero(np.concatenate(([True], tokens[1:] != np.maximum(tokens[:-1], 0))))
    ends = np.append(starts[1:], len(tokens)) * STEPS_PER_BEAT
    runs = tokens[starts]
    roots, qualities = np.divmod(runs - 1, len(MODEL_QUALITIES))  # token_chord for every run at once
    if shift is not None:
        roots = (roots + shift) % 12
    return [Chord(r, MODEL_QUALITIES[q], b, e - b) if t > 0 else Chord(None, "maj", b, e - b)
            for t, r, q, b, e in zip(runs.tolist(), roots.tolist(), qualities.tolist(), (starts * STEPS_PER_BEAT).tolist(), ends.tolist())]


_DRUM_PITCH = np.array([pitches[0] for _, pitches in DRUM_CLASSES], dtype=np.int64)


def decode_drums(drums: np.ndarray) -> list[Note]:
    """Drum hits (the first General MIDI note of each class), sorted by step then pitch."""
    steps, classes = np.nonzero(drums)
    pitches = _DRUM_PITCH[classes]
    order = np.lexsort((pitches, steps))
    return [Note(p, s, 1, 90) for p, s in zip(pitches[order].tolist(), steps[order].tolist())]


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
    return Piece(
        bars=steps // STEPS_PER_BAR,
        key=Key(0, "major" if mode == 0 else "minor"),
        tempo=tempo,
        melody=line_notes(melody, MELODY_LOW, 96),
        harmony=decode_harmony(chords),
        bass=line_notes(bass, BASS_LOW, 90) if bass is not None else [],
        drums=decode_drums(drums) if drums is not None else [],
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
