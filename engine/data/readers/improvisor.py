"""Impro-Visor lead sheets (`.ls`): header fields as s-expressions (`(meter 4 4)`, `(key -1)`,
`(tempo 160.0)`, `(style swing ...)`), a chord part (bars separated by `|`, chords sharing a bar
equally, `/` repeating the previous chord) and melody parts, one per chorus of the form, in
Impro-Visor's note syntax (`bb8` = Bb4 eighth, `d+4+8` = D5 dotted quarter, `r2` = half rest,
`eb+4/3` = triplet quarter). Files without a melody part (chord charts) are reported, not read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.data.chords import merge_chords, try_parse_chord_symbol
from engine.data.key_estimation import estimate_key
from engine.data.labelled import Labels, LabelledPiece
from engine.data.readers.base import Reader, ReaderError
from engine.music import Chord, Meter, Note, Piece

_NOTE = re.compile(r"^([a-g])([#b]?)([+\-]*)([\d./+]*)$")
_REST = re.compile(r"^r([\d./+]*)$")
_TERM = re.compile(r"^(\d+)(\.*)(?:/(\d+))?$")
_LETTER = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_DEFAULT_DURATION = Fraction(1, 8)


def note_duration(text: str) -> Fraction:
    """Whole-note fraction of an Impro-Visor duration: '8' eighth, '4+8' dotted quarter, '4/3' triplet quarter, '8.' dotted eighth."""
    if not text:
        return _DEFAULT_DURATION
    total = Fraction(0)
    for term in text.split("+"):
        m = _TERM.match(term)
        if not m or int(m.group(1)) == 0:
            raise ValueError(f"bad duration {text!r}")
        value = Fraction(1, int(m.group(1)))
        add = value
        for _ in m.group(2):
            add /= 2
            value += add
        if m.group(3):
            k = int(m.group(3))
            value *= Fraction(1 << (k.bit_length() - 1), k)  # a triplet takes 2/3 of the written value
        total += value
    return total


def parse_note(token: str) -> tuple[int | None, Fraction] | None:
    """(MIDI pitch or None for a rest, duration) of a melody token, or None when it is not a note."""
    m = _REST.match(token)
    if m:
        return None, note_duration(m.group(1))
    m = _NOTE.match(token)
    if not m:
        return None
    letter, accidental, octave, duration = m.groups()
    pitch = 60 + _LETTER[letter] + (1 if accidental == "#" else -1 if accidental == "b" else 0)
    pitch += 12 * (octave.count("+") - octave.count("-"))
    return pitch, note_duration(duration)


def _style_for(name: str, title: str) -> str:
    s, t = name.lower(), title.lower()
    if any(k in s for k in ("latin", "bossa", "samba", "cha-cha", "mambo", "rhumba", "rumba", "salsa", "calypso")):
        return "latin"
    if "blues" in t or any(k in s for k in ("blues", "shuffle")):
        return "blues"
    if s.startswith("rock"):
        return "rock"
    if "funk" in s or "pop" in s:
        return "pop"
    return "jazz"


def _blocks(text: str) -> list[tuple[str, str]]:
    """Top-level ('(...)' s-expression | free text) chunks in order."""
    out, depth, start, i = [], 0, 0, 0
    free_start = 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            if depth == 0:
                if text[free_start:i].strip():
                    out.append(("text", text[free_start:i]))
                start = i
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                out.append(("sexp", text[start: i + 1]))
                free_start = i + 1
        i += 1
    if text[free_start:].strip() and depth == 0:
        out.append(("text", text[free_start:]))
    if depth:
        raise ValueError("unbalanced parentheses")
    return out


def _field(sexp: str) -> tuple[str, str]:
    parts = sexp[1:-1].strip().split(None, 1)
    return (parts[0], parts[1].strip() if len(parts) > 1 else "") if parts else ("", "")


@dataclass
class ImprovisorReader(Reader):
    source: str = "impro-visor"
    style: str = "jazz"
    skip_folders: tuple[str, ...] = ("imaginary-book",)  # chord charts without melodies

    def items(self, root: Path) -> list[str]:
        base = Path(root) / "leadsheets"
        return sorted(str(p) for p in base.rglob("*.ls") if not any(part in self.skip_folders for part in p.relative_to(base).parts))

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            blocks = _blocks(text)
        except (OSError, ValueError) as exc:
            raise ReaderError(f"{path}: not an Impro-Visor lead sheet ({exc})") from exc
        meter, tempo, style_name, title = Meter(4, 4), 120.0, "", path.stem
        part = None
        chord_text: list[str] = []
        choruses: list[list[str]] = []
        for kind, chunk in blocks:
            if kind == "sexp":
                head, rest = _field(chunk)
                if head == "meter" and part is None:
                    nums = rest.split()
                    if len(nums) == 2 and all(n.isdigit() for n in nums):
                        meter = Meter(int(nums[0]), int(nums[1]))
                elif head == "tempo" and part is None:
                    try:
                        tempo = float(rest.split()[0])
                    except (ValueError, IndexError):
                        pass
                elif head == "style" and not style_name:
                    style_name = rest.split()[0] if rest.split() else ""
                elif head == "title" and part is None and rest:
                    title = rest
                elif head == "part":
                    part = "melody" if "(type melody)" in chunk else "chords"
                    if part == "melody":
                        choruses.append([])
            elif part == "chords":
                chord_text.append(chunk)
            elif part == "melody":
                choruses[-1].extend(chunk.split())
        if meter.steps_per_bar <= 0 or meter.numerator * 16 % meter.denominator:
            raise ReaderError(f"{path}: unsupported meter {meter.numerator}/{meter.denominator}")
        form, form_steps = self._chords(" ".join(chord_text), meter, path)
        melody: list[Note] = []
        offset = 0
        for chorus in choruses:
            t = Fraction(0)
            for token in chorus:
                parsed = parse_note(token)
                if parsed is None:
                    continue  # lyrics, slurs and other markup
                pitch, dur = parsed
                steps = round(dur * 16)
                start = offset + round(t * 16)
                if pitch is not None and steps > 0:
                    melody.append(Note(pitch, start, steps, 90))
                t += dur
            used = round(t * 16)
            # A chorus spans whole passes of the form.
            offset += max(form_steps, -(-used // form_steps) * form_steps) if form_steps else -(-used // meter.steps_per_bar) * meter.steps_per_bar
        if not melody:
            raise ReaderError(f"{path}: no melody (a chord chart)")
        total = offset
        harmony = []
        if form_steps:
            for k in range(max(1, total // form_steps)):
                harmony += [Chord(c.root, c.quality, c.start + k * form_steps, c.duration, c.bass) for c in form]
        harmony = merge_chords(harmony)
        bars = max(1, -(-max(total, max(n.end for n in melody)) // meter.steps_per_bar))
        piece = Piece(bars=bars, key=estimate_key(melody, harmony), meter=meter, tempo=tempo, melody=melody, harmony=harmony,
                      source=self.source, name=f"{path.parent.name}/{path.stem}")
        return [LabelledPiece(piece, Labels(style=_style_for(style_name, title)))]

    @staticmethod
    def _chords(text: str, meter: Meter, path: Path) -> tuple[list[Chord], int]:
        """The chord form (one pass) and its length in steps."""
        bars = [b.split() for b in re.split(r"\|+", text)]
        bars = [b for b in bars if b]
        spb = meter.steps_per_bar
        chords: list[Chord] = []
        previous: Chord | None = None
        for i, bar in enumerate(bars):
            slot = spb // len(bar) if len(bar) and spb % len(bar) == 0 else spb
            for j, token in enumerate(bar[: spb // slot]):
                if token == "/":
                    chord = previous
                else:
                    chord = try_parse_chord_symbol(token)
                    previous = chord if chord is not None else previous
                if chord is not None:
                    chords.append(Chord(chord.root, chord.quality, i * spb + j * slot, slot, chord.bass))
        return merge_chords(chords), len(bars) * spb
