"""CoCoPops Humdrum files (`*.hum`): a `**kern` melody with `**harte` chord labels, and `*tbN` timebase
records (each data row lasts 1/N of a whole note). music21's Humdrum parser fails on these files'
extra spines (**harte, **silbe, **timestamp, ...), so this reader walks the spines itself."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.data.chords import merge_chords, try_parse_chord_symbol
from engine.data.key_estimation import estimate_key
from engine.data.labelled import Labels, LabelledPiece
from engine.data.readers.base import Reader, ReaderError
from engine.music import Chord, Key, Meter, Note, Piece

_KERN_PITCH = re.compile(r"([a-gA-G])\1*([#\-n]*)")
_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KERN_DURATION = re.compile(r"(\d+)(\.*)")


def kern_pitch(token: str) -> int | None:
    """MIDI pitch of a kern note token ('cc#' = C#5, 'c' = C4, 'C' = C3, 'BB-' = Bb2); None for rests."""
    if "r" in token:
        return None
    m = _KERN_PITCH.search(token)
    if not m:
        return None
    letters = m.group(0).rstrip("#-n")
    base = _LETTER_PC[letters[0].lower()]
    octave = 4 + (len(letters) - 1) if letters[0].islower() else 3 - (len(letters) - 1)
    acc = m.group(2)
    return 12 * (octave + 1) + base + acc.count("#") - acc.count("-")


def kern_duration(token: str) -> Fraction | None:
    """Duration of a kern token in whole notes ('4' quarter, '8.' dotted eighth)."""
    m = _KERN_DURATION.search(token)
    if not m or int(m.group(1)) == 0:
        return None
    base = Fraction(1, int(m.group(1)))
    total, add = base, base
    for _ in m.group(2):
        add /= 2
        total += add
    return total


@dataclass
class CocopopsReader(Reader):
    version = 2  # 2: relative minor keys from the notes
    source: str = "cocopops"
    style: str = "rock"
    billboard_style: str = "pop"

    def items(self, root: Path) -> list[str]:
        files = sorted(Path(root).rglob("*.hum"))
        plain = {str(p) for p in files}
        # "X.varms.hum" repeats "X.hum" with loudness/valence spines: read each song once.
        return sorted(str(p) for p in files if not (p.name.endswith(".varms.hum") and str(p).replace(".varms.hum", ".hum") in plain))

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        try:
            lines = path.read_text(encoding="utf-8", errors="strict").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ReaderError(f"{path}: unreadable ({exc})") from exc
        header = next((ln for ln in lines if ln.startswith("**")), None)
        if header is None:
            raise ReaderError(f"{path}: no Humdrum spine header (**kern ...)")
        spines = header.split("\t")
        if "**kern" not in spines:
            raise ReaderError(f"{path}: no **kern spine")
        kern = spines.index("**kern")
        harte = spines.index("**harte") if "**harte" in spines else None
        time = Fraction(0)
        timebase: Fraction | None = None
        meter, key = Meter(4, 4), None
        melody: list[Note] = []
        marks: list[tuple[int, Chord]] = []
        first_bar_time: Fraction | None = None
        rhythmic = {i for i, s in enumerate(spines) if s in ("**kern", "**harm")}
        ends: dict[int, Fraction] = {}
        rests: list[int] = []
        for line_no, line in enumerate(lines, 1):
            if not line or line.startswith("!") or line.startswith("**"):
                continue
            fields = line.split("\t")
            if len(fields) != len(spines):
                raise ReaderError(f"{path}:{line_no}: {len(fields)} fields where the header has {len(spines)} spines")
            first = fields[0]
            if first.startswith("*"):
                for f in fields:
                    if f.startswith("*tb"):
                        timebase = kern_duration(f[3:])  # '*tb16' a 16th per row, '*tb2.' a dotted half
                        if timebase is None:
                            raise ReaderError(f"{path}:{line_no}: bad timebase {f!r}")
                    elif f.startswith("*M") and "/" in f and first_bar_time is None:
                        num, _, den = f[2:].partition("/")
                        if num.isdigit() and den.isdigit():
                            meter = Meter(int(num), int(den))
                    elif key is None and re.fullmatch(r"\*[A-Ga-g][#\-]?:", f):
                        name = f[1:-1].replace("-", "b")
                        key = Key.parse(name.upper() + ("m" if name[0].islower() else ""))
                if any(f in ("*^", "*v", "*x", "*+") for f in fields):
                    raise ReaderError(f"{path}:{line_no}: spine splits are not supported")
                continue
            if first.startswith("="):
                if first_bar_time is None:
                    first_bar_time = time
                continue
            step = round(time * 16)
            token = fields[kern].split(" ")[0]
            if token not in (".", "") and "q" not in token:  # 'q': grace note, no time of its own
                if "r" in token:
                    rests.append(step)
                else:
                    pitch = kern_pitch(token)
                    dur = kern_duration(token)
                    if pitch is not None and not token.startswith(("]", "_")):
                        # Timebase files give no durations: the note lasts until the next note or rest.
                        melody.append(Note(pitch, step, max(1, round(dur * 16)) if dur is not None else 64, 90))
            if harte is not None and fields[harte] not in (".", ""):
                label = fields[harte]
                root, colon, rest = label.partition(":")
                if colon:  # Humdrum spells flats '-' ("B-:maj")
                    label = root.replace("-", "b") + ":" + rest
                chord = try_parse_chord_symbol(label)
                if chord is not None:
                    marks.append((step, chord))
            if timebase is not None:
                time += timebase
            else:
                # No timebase: each spine's event lasts its own duration; the next row starts at the
                # earliest end among the events still sounding (the usual Humdrum timing rule).
                for col, f in enumerate(fields):
                    if col in rhythmic and f not in (".", ""):
                        dur = kern_duration(f.split(" ")[0])
                        if dur is not None:
                            ends[col] = time + dur
                upcoming = [e for e in ends.values() if e > time]
                if upcoming:  # a row of nulls or grace notes takes no time
                    time = min(upcoming)
        if not melody:
            raise ReaderError(f"{path}: no melody notes in the **kern spine")
        offset = round((first_bar_time or 0) * 16)
        melody = [Note(n.pitch, n.start - offset, n.duration, n.velocity) for n in melody if n.start >= offset]
        total_steps = round(time * 16) - offset
        chords = []
        for i, (start, c) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else round(time * 16)
            s, e = start - offset, end - offset
            if e > max(0, s):
                chords.append(Chord(c.root, c.quality, max(0, s), e - max(0, s), c.bass))
        cuts = sorted({n.start for n in melody} | {r - offset for r in rests})
        mono = []
        for n in melody:
            if mono and mono[-1].start == n.start:
                continue
            nxt = next((c for c in cuts if c > n.start), total_steps)
            mono.append(Note(n.pitch, n.start, max(1, min(n.duration, nxt - n.start)), n.velocity))
        harmony = merge_chords(chords)
        bars = max(1, math.ceil(max(total_steps, max(n.end for n in mono)) / meter.steps_per_bar))
        style = self.billboard_style if "Billboard" in path.parts else self.style
        name = path.name.removesuffix(".hum").removesuffix(".varms")
        estimated = estimate_key(mono, harmony)
        if key is None:
            key = estimated
        elif key.mode == "major" and estimated == Key((key.tonic + 9) % 12, "minor"):
            key = estimated  # the annotations name keys by their major signature; the notes decide the relative minor
        piece = Piece(bars=bars, key=key, meter=meter, tempo=_tempo_guess(lines), melody=mono, harmony=harmony, source=self.source, name=name)
        return [LabelledPiece(piece, Labels(style=style))]


def _tempo_guess(lines: list[str]) -> float:
    """Tempo from *MM records when present, else a typical rock tempo."""
    for line in lines:
        for f in line.split("\t"):
            if f.startswith("*MM") and f[3:].replace(".", "", 1).isdigit():
                return float(f[3:])
    return 110.0
