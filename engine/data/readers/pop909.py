"""POP909: `NNN/NNN.mid` (tracks MELODY, BRIDGE, PIANO) with `chord_midi.txt` (Harte labels in seconds)
and `key_audio.txt`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.data.chords import merge_chords, try_parse_chord_symbol
from engine.data.labelled import Labels, LabelledPiece
from engine.data.midi import MidiReadError, load_midi, midi_to_piece, seconds_to_step
from engine.data.readers.base import Reader, ReaderError
from engine.music import Chord, Key, Meter


def read_chord_file(path: Path, pm) -> list[Chord]:
    """POP909 chord annotations `start<TAB>end<TAB>label` as grid chords."""
    chords = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ReaderError(f"{path}:{line_no}: expected 'start end label', got {line!r}")
        start, end = seconds_to_step(pm, float(parts[0])), seconds_to_step(pm, float(parts[1]))
        chord = try_parse_chord_symbol(parts[2])
        if chord is not None and end > start:
            chords.append(Chord(chord.root, chord.quality, max(0, start), end - max(0, start), chord.bass))
    return merge_chords(chords)


def read_key_file(path: Path) -> Key | None:
    """The first key of `key_audio.txt` ('Gb:maj'), or None."""
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[2]:
            tonic, _, mode = parts[2].partition(":")
            try:
                return Key.parse(tonic + ("m" if mode.startswith("min") else ""))
            except ValueError:
                return None
    return None


def read_beats(path: Path) -> list[tuple[float, bool]]:
    """`beat_midi.txt`'s beats (rows: time, half-bar flag, bar flag): (time in seconds, whether it starts a bar)."""
    rows = (line.split() for line in path.read_text(encoding="utf-8").splitlines())
    return [(float(p[0]), float(p[2]) == 1.0) for p in rows if len(p) == 3]


def read_downbeats(path: Path) -> list[float]:
    """The times (seconds) of `beat_midi.txt`'s downbeats."""
    return [time for time, starts_bar in read_beats(path) if starts_bar]


def read_four_beat_bars(path: Path) -> list[tuple[float, float]]:
    """(start, end) in seconds of each bar of `beat_midi.txt` that has four beats."""
    beats = read_beats(path)
    marks = [i for i, (_, starts_bar) in enumerate(beats) if starts_bar]
    return [(beats[i][0], beats[j][0]) for i, j in zip(marks, marks[1:]) if j - i == 4]


def read_first_downbeat(path: Path) -> float | None:
    """Time of the first 4/4 downbeat in `beat_midi.txt`."""
    return next(iter(read_downbeats(path)), None)


@dataclass
class Pop909Reader(Reader):
    source: str = "pop909"
    style: str = "pop"
    version = 2  # 2: 4/4 bars from the downbeat annotations

    def items(self, root: Path) -> list[str]:
        return sorted(str(p / f"{p.name}.mid") for p in Path(root).iterdir() if p.is_dir() and (p / f"{p.name}.mid").is_file())

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        try:
            pm = load_midi(path)
            chord_path, key_path = path.parent / "chord_midi.txt", path.parent / "key_audio.txt"
            harmony = read_chord_file(chord_path, pm) if chord_path.is_file() else None
            key = read_key_file(key_path) if key_path.is_file() else None
            beat_path = path.parent / "beat_midi.txt"
            downbeat = read_first_downbeat(beat_path) if beat_path.is_file() else None
            # The files' time signatures (2/4, 1/4) are not the music's: the songs are 4/4, bars start at the annotated downbeats.
            piece = midi_to_piece(pm, name=path.stem, source_name=self.source, key=key, harmony=harmony,
                                  meter=Meter(4, 4), first_downbeat=downbeat)
        except (MidiReadError, ValueError, OSError) as exc:
            raise ReaderError(f"{path}: {exc}") from exc
        return [LabelledPiece(piece, Labels(style=self.style))]
