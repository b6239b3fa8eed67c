"""Piece <-> MIDI: pretty_midi objects, MIDI files and raw bytes (uploads for /continue and /restyle).

Reading quantises every note to the 16th grid in score time (MIDI ticks, so tempo changes do not
move notes off the grid) and assigns roles: a track named like "melody"/"vocal"/"lead" is the
melody, "bass" (or a bass program) the bass, drum channels the drums. Without names, the highest
pitched line of the pitched notes (the skyline) is the melody and the lowest line under the
melody's register is the bass. Chord symbols come from "chord:<symbol>" text events (as written by
piece_to_midi) or are estimated from the notes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pretty_midi

from engine.data.chords import estimate_harmony, merge_chords, try_parse_chord_symbol
from engine.data.key_estimation import estimate_key
from engine.data.midi_scan import CUT_SHORT
from engine.music import CHORD_QUALITIES, STEPS_PER_BEAT, Chord, Key, Meter, Note, Piece

CHORD_TEXT_PREFIX = "chord:"
MAX_MIDI_STEPS = 16 * 2000  # 2000 bars of 4/4; longer files are almost always corrupt timing
_MELODY_NAMES = ("melody", "vocal", "voice", "lead", "sing", "soprano", "mel")
_BASS_NAMES = ("bass",)
_MELODY_SPLIT_PITCH = 55  # under G3 a note is accompaniment or bass, not melody, in piano textures


class MidiReadError(ValueError):
    """A MIDI file that cannot be read or holds no usable notes; the message names the file and says why.
    `reason` is the why alone, a plain phrase (never an exception's name)."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}")
        self.reason = reason


def plain_reason(exc: BaseException) -> str:
    """What a MIDI parser's exception says about the file, in words (mido and pretty_midi raise bare EOFError,
    ZeroDivisionError, 'max() arg is an empty sequence'...)."""
    if isinstance(exc, EOFError):
        return CUT_SHORT
    if isinstance(exc, ZeroDivisionError):
        return "its timing is broken (a tempo or a beat length of zero)"
    if isinstance(exc, MemoryError):
        return "it is too large to hold in memory"
    return "its data is garbled (it is not a standard MIDI file, or it is damaged)"


def load_midi(source: bytes | bytearray | str | Path | pretty_midi.PrettyMIDI) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI object from a path, raw bytes or an existing object; MidiReadError when unreadable."""
    if isinstance(source, pretty_midi.PrettyMIDI):
        return source
    label = "MIDI data" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        if isinstance(source, (bytes, bytearray)):
            if not bytes(source[:4]) == b"MThd":
                raise MidiReadError(label, "not a MIDI file (no MThd header)")
            return pretty_midi.PrettyMIDI(io.BytesIO(bytes(source)))
        path = Path(source)
        if not path.is_file():
            raise MidiReadError(str(path), "no such MIDI file")
        with path.open("rb") as fh:
            if fh.read(4) != b"MThd":
                raise MidiReadError(str(path), "not a MIDI file (no MThd header)")
        return pretty_midi.PrettyMIDI(str(path))
    except MidiReadError:
        raise
    except Exception as exc:  # mido/pretty_midi raise many types on corrupt data
        raise MidiReadError(label, f"unreadable MIDI: {plain_reason(exc)}") from exc


class _Grid:
    """Maps seconds to 16th-note steps through the file's tick timeline."""

    def __init__(self, pm: pretty_midi.PrettyMIDI, offset_ticks: int = 0) -> None:
        self.pm = pm
        self.ticks_per_step = pm.resolution / STEPS_PER_BEAT
        self.offset = offset_ticks

    def step(self, seconds: float) -> int:
        return int(round((self.pm.time_to_tick(seconds) - self.offset) / self.ticks_per_step))


def _quantise(notes: Iterable[pretty_midi.Note], grid: _Grid, drums: bool = False) -> list[Note]:
    out = []
    for n in notes:
        start = grid.step(n.start)
        if start < 0:
            continue
        end = grid.step(n.end)
        duration = 1 if drums else max(1, end - start)
        out.append(Note(int(n.pitch), start, duration, int(max(1, min(127, n.velocity)))))
    return out


def skyline(notes: Sequence[Note], highest: bool = True) -> list[Note]:
    """A monophonic line: at each onset the highest (or lowest) note, cut where the next one starts."""
    by_onset: dict[int, Note] = {}
    for n in notes:
        best = by_onset.get(n.start)
        if best is None or (n.pitch > best.pitch if highest else n.pitch < best.pitch):
            by_onset[n.start] = n
    line = [by_onset[s] for s in sorted(by_onset)]
    out = []
    for i, n in enumerate(line):
        end = n.end if i + 1 == len(line) else min(n.end, line[i + 1].start)
        out.append(Note(n.pitch, n.start, max(1, end - n.start), n.velocity))
    return out


def _meter(pm: pretty_midi.PrettyMIDI) -> Meter:
    if not pm.time_signature_changes:
        return Meter(4, 4)
    ts = pm.time_signature_changes[0]
    if ts.denominator not in (2, 4, 8, 16) or ts.numerator < 1 or ts.numerator * 16 % ts.denominator:
        raise MidiReadError("MIDI data", f"its time signature {ts.numerator}/{ts.denominator} is unsupported (the meter must divide into 16th notes)")
    if (ts.numerator, ts.denominator) in ((2, 4), (2, 2), (4, 2)):
        return Meter(4, 4)  # duple metres re-bar cleanly onto the 4/4 grid
    return Meter(ts.numerator, ts.denominator)


def _tempo(pm: pretty_midi.PrettyMIDI) -> float:
    _, tempi = pm.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else 120.0
    if not 20 <= tempo <= 400:
        tempo = 120.0
    return round(tempo, 2)


def _chords_from_text(pm: pretty_midi.PrettyMIDI, grid: _Grid, total_steps: int) -> list[Chord]:
    marks = []
    for event in list(pm.text_events) + list(pm.lyrics):
        text = event.text.strip()
        if text.lower().startswith(CHORD_TEXT_PREFIX):
            chord = try_parse_chord_symbol(text[len(CHORD_TEXT_PREFIX):])
            if chord is not None:
                marks.append((grid.step(event.time), chord))
    marks.sort(key=lambda m: m[0])
    chords = []
    for i, (start, chord) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else total_steps
        if end > start:
            chords.append(Chord(chord.root, chord.quality, start, end - start, chord.bass))
    return merge_chords(chords)


def _role(instrument: pretty_midi.Instrument) -> str:
    if instrument.is_drum:
        return "drums"
    name = (instrument.name or "").lower()
    if any(k in name for k in _MELODY_NAMES):
        return "melody"
    if any(k in name for k in _BASS_NAMES) or 32 <= instrument.program <= 39:
        return "bass"
    return "other"


def _key_from_signature(pm: pretty_midi.PrettyMIDI) -> Key | None:
    if not pm.key_signature_changes:
        return None
    number = pm.key_signature_changes[0].key_number
    return Key(number % 12, "major" if number < 12 else "minor")


def midi_to_piece(
    source: bytes | bytearray | str | Path | pretty_midi.PrettyMIDI,
    *,
    name: str = "",
    source_name: str = "midi",
    key: Key | None = None,
    harmony: Sequence[Chord] | None = None,
    estimate_bass: bool = True,
    meter: Meter | None = None,
    first_downbeat: float | None = None,
    max_bars: int | None = None,
) -> Piece:
    """A Piece from a MIDI file, bytes or PrettyMIDI object. Raises MidiReadError on broken or empty input.

    `key` and `harmony` (in this file's grid steps), when a source annotates them separately, replace
    the estimates. `meter` overrides the file's time signature and `first_downbeat` (seconds) says
    where a bar starts, for files whose time signatures are unreliable. `estimate_bass` False keeps
    the bass empty unless a track is a bass. `max_bars` reads only the notes that start in the first
    that many bars (an upload of which only those are used: the rest would cost time for nothing).
    """
    pm = load_midi(source)
    if not name and isinstance(source, (str, Path)):
        name = Path(source).stem
    meter = meter or _meter(pm)
    grid = _Grid(pm)
    # Steps added in front so that the first downbeat falls on a bar line (a pickup becomes a partial first bar).
    pad = (-grid.step(first_downbeat)) % meter.steps_per_bar if first_downbeat is not None else 0
    roles: dict[str, list[Note]] = {"melody": [], "bass": [], "drums": [], "other": []}
    until = None if max_bars is None else pm.tick_to_time(int((max_bars * meter.steps_per_bar - pad) * grid.ticks_per_step))
    for inst in pm.instruments:
        role = _role(inst)
        kept = inst.notes if until is None else [n for n in inst.notes if n.start < until]
        roles[role].extend(Note(n.pitch, n.start + pad, n.duration, n.velocity) for n in _quantise(kept, grid, drums=role == "drums"))
    if harmony is not None and pad:
        harmony = [Chord(c.root, c.quality, c.start + pad, c.duration, c.bass) for c in harmony]
    pitched = roles["melody"] + roles["bass"] + roles["other"]
    if not pitched and not roles["drums"]:
        raise MidiReadError(name or "MIDI data", "it has no notes")
    last = max((n.end for n in pitched + roles["drums"]), default=0)
    if last > MAX_MIDI_STEPS:
        raise MidiReadError(name or "MIDI data", f"its notes run over {last // meter.steps_per_bar:,} bars, so its timing looks corrupt")
    bars = max(1, math.ceil(last / meter.steps_per_bar))
    total = bars * meter.steps_per_bar

    if roles["melody"]:
        melody = skyline(roles["melody"])
    else:
        upper = [n for n in roles["other"] if n.pitch >= _MELODY_SPLIT_PITCH]
        melody = skyline(upper)
    melody_ids = {(n.start, n.pitch) for n in melody}
    accompaniment = [n for n in roles["other"] if (n.start, n.pitch) not in melody_ids]
    if roles["bass"]:
        bass = skyline(roles["bass"], highest=False)
    elif estimate_bass and accompaniment:
        low = [n for n in accompaniment if n.pitch < _MELODY_SPLIT_PITCH]
        bass = skyline(low, highest=False)
    else:
        bass = []

    if harmony is None:
        harmony = [Chord(c.root, c.quality, c.start + pad, c.duration, c.bass) for c in _chords_from_text(pm, grid, total)]
        if not harmony and pitched:
            harmony = estimate_harmony(accompaniment + roles["bass"] or melody, total, beats_per_chord=2)
    if key is None:
        annotated = _key_from_signature(pm)
        estimated = estimate_key(pitched, harmony)
        # Many files carry a default C-major signature: trust a signature only when it is not that
        # default or the notes agree with it.
        key = annotated if annotated is not None and (annotated != Key(0, "major") or estimated == annotated) else estimated
    return Piece(
        bars=bars,
        key=key,
        meter=meter,
        tempo=_tempo(pm),
        melody=melody,
        harmony=list(harmony),
        bass=bass,
        drums=sorted(roles["drums"], key=lambda n: (n.start, n.pitch)),
        source=source_name,
        name=name,
    )


def chord_voicing(chord: Chord, low: int = 52) -> list[int]:
    """Close-position MIDI pitches for a chord with its root at or above `low` (no notes for N.C.)."""
    if chord.root is None:
        return []
    root = low + (chord.root - low) % 12
    return [root + i for i in CHORD_QUALITIES[chord.quality]]


def piece_to_midi(
    piece: Piece,
    *,
    melody_program: int = 0,
    harmony_program: int = 0,
    bass_program: int = 33,
    chord_voices: bool = True,
) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI object with tracks named Melody, Harmony, Bass and Drums, and the chord symbols as text events."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(piece.tempo))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(piece.meter.numerator, piece.meter.denominator, 0.0))
    pm.key_signature_changes.append(pretty_midi.KeySignature(piece.key.tonic + (12 if piece.key.mode == "minor" else 0), 0.0))
    sec = piece.seconds_per_step

    def track(name: str, program: int, notes: Iterable[Note], is_drum: bool = False) -> None:
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
        for n in notes:
            inst.notes.append(pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch), start=n.start * sec, end=n.end * sec))
        if inst.notes:
            pm.instruments.append(inst)

    track("Melody", melody_program, piece.melody)
    if chord_voices:
        voiced = [Note(p, c.start, c.duration, 64) for c in piece.harmony for p in chord_voicing(c)]
        track("Harmony", harmony_program, voiced)
    track("Bass", bass_program, piece.bass)
    track("Drums", 0, piece.drums, is_drum=True)
    for c in piece.harmony:
        pm.text_events.append(pretty_midi.Text(CHORD_TEXT_PREFIX + c.symbol(), c.start * sec))
    return pm


def write_midi(piece: Piece, path: str | Path, **kwargs) -> Path:
    """Write a piece as a standard MIDI file (see piece_to_midi for the tracks)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    piece_to_midi(piece, **kwargs).write(str(path))
    return path


def piece_to_midi_bytes(piece: Piece, **kwargs) -> bytes:
    buf = io.BytesIO()
    piece_to_midi(piece, **kwargs).write(buf)
    return buf.getvalue()


def seconds_to_step(pm: pretty_midi.PrettyMIDI, seconds: float) -> int:
    """The 16th-note grid step of a time in seconds in this file (for annotations given in seconds)."""
    return _Grid(pm).step(seconds)
