"""music21 scores -> Piece: shared by the MusicXML, Humdrum, ABC and music21-corpus readers.

The melody is the part named like a voice/melody, else the first part (top note of any chord);
chord symbols come from the score's ChordSymbol objects, else they are estimated from the other
parts; a multi-part score's lowest part is the bass. A pickup bar is shifted so that bar lines
fall on the grid's bars.
"""

from __future__ import annotations

import math
from dataclasses import replace

from engine.data.chords import estimate_harmony, merge_chords, try_parse_chord_symbol
from engine.data.key_estimation import estimate_key
from engine.music import STEPS_PER_BEAT, Chord, Key, Meter, Note, Piece

_MELODY_NAMES = ("melody", "voice", "vocal", "soprano", "lead", "canto")


class ScoreConversionError(ValueError):
    """A music21 score that cannot become a Piece (no notes, an odd meter, ...)."""


def _step(offset: float) -> int:
    return int(round(float(offset) * STEPS_PER_BEAT))


def _meter(score) -> tuple[Meter, int]:
    """The piece's meter on our grid and the factor its note values shrink by (2 for 4/2, 4 for 4/1)."""
    from music21 import meter

    sigs = score.recurse().getElementsByClass(meter.TimeSignature)
    ts = next(iter(sigs), None)
    if ts is None:
        return Meter(4, 4), 1
    pair = (ts.numerator, ts.denominator)
    if pair == (2, 2) or pair == (2, 4):
        # Cut time is notated like 4/4; 2/4 pieces re-bar cleanly into 4/4 (see score_to_piece).
        return (Meter(4, 4) if pair == (2, 2) else Meter(2, 4)), 1
    factor = 1
    if ts.denominator in (1, 2):
        # Old notation (Essen songs in 4/2, 3/1, ...) counts in halves or wholes: read the half as our quarter.
        factor = 4 // ts.denominator
        pair = (ts.numerator, 4)
    if pair[1] not in (4, 8) or not 1 <= pair[0] <= 12:
        raise ScoreConversionError(f"meter {ts.ratioString} is not supported")
    return Meter(*pair), factor


def _diminish(piece: Piece, factor: int, meter: Meter) -> Piece:
    """Note values divided by `factor`, in `meter` (4/2 -> 4/4)."""
    def notes(items):
        return [Note(n.pitch, n.start // factor, max(1, n.duration // factor), n.velocity) for n in items]

    chords = merge_chords([Chord(c.root, c.quality, c.start // factor, max(1, c.duration // factor), c.bass) for c in piece.harmony])
    bars = max(1, math.ceil(piece.bars * piece.steps_per_bar / factor / meter.steps_per_bar))
    return replace(piece, meter=meter, melody=notes(piece.melody), bass=notes(piece.bass), harmony=chords, bars=bars)


def _pickup_steps(part, meter: Meter) -> int:
    """Steps to shift right so that the first full bar starts on a grid bar line."""
    from music21 import stream

    measures = part.getElementsByClass(stream.Measure)
    first = next(iter(measures), None)
    if first is None:
        return 0
    bar = meter.steps_per_bar
    length = _step(first.duration.quarterLength)
    if 0 < length < bar and first.paddingLeft == 0 and len(measures) > 1:
        return bar - length
    if first.paddingLeft:
        return _step(first.paddingLeft) % bar
    return 0


def _line(part, shift: int, top: bool = True) -> list[Note]:
    """A monophonic line from a part: notes and the top (or bottom) note of chords, ties merged."""
    from music21 import chord as m21chord, harmony, note

    flat = part.stripTies().flatten()
    notes: dict[int, Note] = {}
    for el in flat.notes:
        if isinstance(el, harmony.ChordSymbol):
            continue
        if isinstance(el, m21chord.Chord):
            if not el.pitches:
                continue
            pitch = max(p.midi for p in el.pitches) if top else min(p.midi for p in el.pitches)
        elif isinstance(el, note.Note):
            pitch = el.pitch.midi
        else:
            continue
        start = _step(el.offset) + shift
        dur = max(1, _step(el.duration.quarterLength))
        if el.duration.isGrace or el.duration.quarterLength == 0:
            continue
        velocity = int(el.volume.velocity) if el.volume.velocity else 90
        prev = notes.get(start)
        if prev is None or (pitch > prev.pitch if top else pitch < prev.pitch):
            notes[start] = Note(int(pitch), start, dur, velocity)
    line = [notes[s] for s in sorted(notes)]
    # Monophonic: a note ends where the next begins.
    return [Note(n.pitch, n.start, max(1, min(n.duration, line[i + 1].start - n.start)) if i + 1 < len(line) else n.duration, n.velocity) for i, n in enumerate(line)]


def _all_notes(part, shift: int) -> list[Note]:
    from music21 import chord as m21chord, harmony, note

    out = []
    for el in part.flatten().notes:
        if isinstance(el, harmony.ChordSymbol) or el.duration.quarterLength == 0:
            continue
        pitches = el.pitches if isinstance(el, m21chord.Chord) else [el.pitch] if isinstance(el, note.Note) else []
        for p in pitches:
            out.append(Note(int(p.midi), _step(el.offset) + shift, max(1, _step(el.duration.quarterLength)), 80))
    return out


def _chord_symbols(score, shift: int, total: int) -> list[Chord]:
    from music21 import harmony

    marks = []
    for cs in score.flatten().getElementsByClass(harmony.ChordSymbol):
        if isinstance(cs, harmony.NoChord):
            marks.append((_step(cs.offset) + shift, Chord(None, "maj", 0, 1)))
            continue
        chord = _chord_from_symbol(cs)
        if chord is not None:
            marks.append((_step(cs.offset) + shift, chord))
    marks.sort(key=lambda m: m[0])
    chords = []
    for i, (start, c) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else total
        if end > start:
            chords.append(Chord(c.root, c.quality, start, end - start, c.bass))
    return merge_chords(chords)


# music21 chordKind names -> our qualities.
_KIND = {
    "major": "maj", "minor": "min", "augmented": "aug", "diminished": "dim", "dominant-seventh": "7",
    "major-seventh": "maj7", "minor-seventh": "min7", "diminished-seventh": "dim7", "augmented-seventh": "7",
    "half-diminished-seventh": "hdim7", "major-minor": "minmaj7", "minor-major-seventh": "minmaj7",
    "major-sixth": "6", "minor-sixth": "min6", "dominant-ninth": "9", "major-ninth": "maj9",
    "minor-ninth": "min9", "dominant-11th": "9", "major-11th": "maj9", "minor-11th": "min9",
    "dominant-13th": "13", "major-13th": "maj9", "minor-13th": "min9", "suspended-second": "sus2",
    "suspended-fourth": "sus4", "suspended-fourth-seventh": "7sus4", "seventh-flat-five": "7",
    "power": "maj", "pedal": "maj", "augmented-major-seventh": "maj7", "augmented-ninth": "9",
    "Neapolitan": "maj", "Italian": "7", "French": "7", "German": "7", "Tristan": "hdim7",
}


def _chord_from_symbol(cs) -> Chord | None:
    root = cs.root()
    if root is None:
        return None
    quality = _KIND.get(cs.chordKind)
    if quality is None:
        parsed = try_parse_chord_symbol(cs.figure or "")
        return parsed
    bass = cs.bass()
    bass_pc = None if bass is None or bass.pitchClass == root.pitchClass else bass.pitchClass
    return Chord(root.pitchClass, quality, 0, 1, bass_pc)


def _tempo(score, default: float) -> float:
    from music21 import tempo

    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM()
        if bpm and 30 <= bpm <= 300:
            return float(bpm)
    return default


def _melody_part(parts):
    for p in parts:
        name = (p.partName or p.id or "")
        if isinstance(name, str) and any(k in name.lower() for k in _MELODY_NAMES):
            return p
    return parts[0]


def score_to_piece(score, *, name: str, source: str, default_tempo: float = 100.0, key: Key | None = None) -> Piece:
    """Convert a parsed music21 Score (or Part) to a Piece; raises ScoreConversionError when unusable."""
    from music21 import stream

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    meter, factor = _meter(score)
    if factor == 1:
        return _convert(score, parts, meter, name=name, source=source, default_tempo=default_tempo, key=key)
    # Convert on the written values' grid (a 4/2 bar is 32 steps), then shrink to the target meter.
    written = Meter(meter.numerator, meter.denominator // factor)
    piece = _convert(score, parts, written, name=name, source=source, default_tempo=default_tempo, key=key)
    return _diminish(piece, factor, meter)


def _convert(score, parts, meter: Meter, *, name: str, source: str, default_tempo: float, key: Key | None) -> Piece:
    from music21 import stream

    melody_part = _melody_part(parts)
    shift = _pickup_steps(melody_part, meter)
    melody = _line(melody_part, shift, top=True)
    if not melody:
        raise ScoreConversionError("no melody notes")
    others = [p for p in parts if p is not melody_part]
    last = max(n.end for n in melody)
    accompaniment = [n for p in others for n in _all_notes(p, shift)]
    if accompaniment:
        last = max(last, max(n.end for n in accompaniment))
    bars = max(1, math.ceil(last / meter.steps_per_bar))
    total = bars * meter.steps_per_bar
    harmony = _chord_symbols(score, shift, total)
    if not harmony and accompaniment:
        harmony = estimate_harmony(accompaniment + melody, total, beats_per_chord=1)
    elif not harmony:
        # A bare melody (folk songs): one chord per half bar fitted to the melody notes.
        harmony = estimate_harmony(melody, total, beats_per_chord=max(1, meter.beats_per_bar // 2) if meter.beats_per_bar % 2 == 0 else meter.beats_per_bar)
    bass = _line(others[-1], shift, top=False) if len(others) >= 1 and isinstance(others[-1], stream.Stream) and len(parts) >= 3 else []
    if key is None:
        key = estimate_key(melody + accompaniment, harmony)
    if meter == Meter(2, 4):
        meter = Meter(4, 4)  # two 2/4 bars make one 4/4 bar on the same grid
        bars = max(1, math.ceil(last / meter.steps_per_bar))
    return Piece(
        bars=bars, key=key, meter=meter, tempo=_tempo(score, default_tempo), melody=melody, harmony=harmony,
        bass=bass, source=source, name=name,
    )
