"""Chord symbols from the data sets' notations, and chords estimated from notes where a source has none.

One parser covers the notations in ../shared/data: jazz lead-sheet symbols (Weimar Jazz Database
"C-7", "Bbj7", "F7alt", "Dm7b5"; Impro-Visor "CM7", "Cm7b5", "Co7"), Harte labels (POP909,
CoCoPops "B:maj", "E:min7/b7", "F:sus4(b7)") and plain names ("Am", "G7/B"). Rarer chords are
reduced to the nearest quality in engine.music.CHORD_QUALITIES.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from engine.music import CHORD_QUALITIES, Chord, Note, pitch_class

_ROOT = re.compile(r"^\s*([A-Ga-g])((?:b|#|♭|♯|s(?=[^u])|-(?=[#b]))*)")
_NO_CHORD = {"N", "NC", "N.C.", "N.C", "X", "NOCHORD", "/", ""}

# Harte shorthands (POP909, CoCoPops) -> our qualities. Checked before the free-form rules.
_HARTE = {
    "maj": "maj", "min": "min", "dim": "dim", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
    "maj6": "6", "min6": "min6", "7": "7", "maj7": "maj7", "min7": "min7", "minmaj7": "minmaj7",
    "hdim7": "hdim7", "dim7": "dim7", "9": "9", "maj9": "maj9", "min9": "min9", "11": "9",
    "min11": "min9", "13": "13", "maj13": "maj9", "min13": "min9", "1": "maj", "5": "maj",
    "sus4(b7)": "7sus4", "sus4(b7,9)": "7sus4", "sus2(b7)": "7sus4", "7(b9)": "7b9",
}


class ChordSymbolError(ValueError):
    """A chord symbol this parser cannot read."""


def _quality(suffix: str) -> str:
    """Map the text after the root (no slash bass) to a quality name."""
    s = suffix.strip().replace("(", "").replace(")", "").replace(" ", "")
    if s in _HARTE:
        return _HARTE[s]
    s = s.lstrip(":")
    if s in _HARTE:
        return _HARTE[s]
    low = s.lower()
    if low in ("", "maj", "major", "m_", "ma", "5", "1", "add9", "add2", "2"):
        return "maj"
    if "alt" in low:
        return "7"
    if any(t in low for t in ("m7b5", "-7b5", "ø", "hdim", "mi7b5", "min7b5", "m7(b5)")):
        return "hdim7"
    if low.startswith(("o7", "dim7", "°7")):
        return "dim7"
    if low.startswith(("o", "dim", "°")):
        return "dim"
    minor = s.startswith(("m", "-", "mi", "min")) and not s.startswith(("maj", "ma7", "ma9", "M"))
    if minor:
        rest = re.sub(r"^(min|mi|m|-)", "", s)
        rl = rest.lower()
        if rl.startswith(("maj7", "j7", "^7", "ma7", "m7", "maj", "^", "j", "δ")):
            return "minmaj7"
        if rl.startswith(("69", "6")):
            return "min6"
        if rl.startswith(("9", "11", "13")):
            return "min9"
        if rl.startswith("7"):
            return "min9" if rl.startswith(("79", "7911", "7913")) else "min7"
        return "min"
    if low.startswith(("+", "aug", "#5")):
        return "7" if "7" in low else "aug"
    if "sus" in low:
        if "7" in low or "9" in low or "13" in low:
            return "7sus4"
        return "sus2" if "sus2" in low else "sus4"
    major7 = s.startswith(("maj", "M", "j", "^", "Δ", "ma"))
    if major7:
        rest = re.sub(r"^(maj|ma|M|j|\^|Δ)", "", s)
        if rest.startswith("9") or rest.startswith("79"):
            return "maj9"
        if rest.startswith(("6", "69")):
            return "6"
        return "maj7"
    if low.startswith(("69", "6")):
        return "6"
    if low.startswith("13"):
        return "13"
    if low.startswith(("9", "11")):
        return "9"
    if low.startswith("7"):
        if "b9" in low or "9b" in low:
            return "7b9"
        if low.startswith("79") or low.startswith("7911"):
            return "9"
        if low.startswith("7913"):
            return "13"
        return "7"
    raise ChordSymbolError(f"Unknown chord quality {suffix!r}")


def _root(text: str) -> tuple[int, str]:
    m = _ROOT.match(text)
    if not m:
        raise ChordSymbolError(f"Chord symbol {text!r} does not start with a note name")
    letter, accidentals = m.group(1), m.group(2)
    # 's' is Impro-Visor's sharp in some files; '-' before an accidental is a flat in music21 names.
    acc = accidentals.replace("♭", "b").replace("♯", "#").replace("s", "#").replace("-", "b")
    pc = pitch_class(letter.upper())
    pc += acc.count("#") - acc.count("b")
    return pc % 12, text[m.end():]


def parse_chord_symbol(text: str, start: int = 0, duration: int = 4) -> Chord:
    """A Chord from a symbol in any of the supported notations; 'NC', 'N' and 'N.C.' give a no-chord."""
    raw = text.strip()
    if raw.upper() in _NO_CHORD:
        return Chord(None, "maj", start, duration)
    root, rest = _root(raw)
    bass = None
    if ":" in rest[:1]:  # Harte "C:min7/b7": the bass after '/' is an interval, not a note name
        quality_text, _, bass_text = rest[1:].partition("/")
        if bass_text:
            bass = _harte_interval_bass(root, bass_text)
    else:
        quality_text, _, bass_text = rest.partition("/")
        if bass_text:
            try:
                bass = _root(bass_text)[0]
            except ChordSymbolError:
                bass = None  # "C/9"-style additions: ignore the part after the slash
    try:
        quality = _quality(quality_text)
    except ChordSymbolError:
        raise ChordSymbolError(f"Unknown chord symbol {text!r}: cannot read the quality {quality_text!r}") from None
    if quality not in CHORD_QUALITIES:
        raise ChordSymbolError(f"Quality {quality!r} from {text!r} is not a known chord quality")
    return Chord(root, quality, start, duration, bass)


_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 2, "11": 5, "13": 9}


def _harte_interval_bass(root: int, degree: str) -> int | None:
    m = re.match(r"^([b#]*)(\d+)$", degree.strip())
    if not m or m.group(2) not in _DEGREES:
        return None
    shift = m.group(1).count("#") - m.group(1).count("b")
    return (root + _DEGREES[m.group(2)] + shift) % 12


def try_parse_chord_symbol(text: str, start: int = 0, duration: int = 4) -> Chord | None:
    """Like parse_chord_symbol, but None for unreadable symbols (annotation noise in real data)."""
    try:
        return parse_chord_symbol(text, start, duration)
    except (ChordSymbolError, ValueError):
        return None


# Templates for estimating chords from notes: the qualities the models use, simplest first so ties
# go to triads. Weights favour the root and third, which decide the chord's colour.
_TEMPLATE_QUALITIES = ("maj", "min", "7", "min7", "maj7", "dim", "hdim7", "sus4", "aug")
_TEMPLATES = np.zeros((12 * len(_TEMPLATE_QUALITIES), 12))
for _qi, _q in enumerate(_TEMPLATE_QUALITIES):
    _ivs = [i % 12 for i in CHORD_QUALITIES[_q]]
    for _root_pc in range(12):
        row = _TEMPLATES[_qi * 12 + _root_pc]
        row[:] = -0.6  # notes outside the chord count against it
        for _k, _iv in enumerate(_ivs):
            row[(_root_pc + _iv) % 12] = 1.2 if _k == 0 else 1.0
        row /= len(_ivs) ** 0.5  # larger chords must explain more to win
_COMPLEXITY_PENALTY = np.repeat([0.0, 0.0, 0.05, 0.05, 0.05, 0.1, 0.1, 0.12, 0.15], 12)


def estimate_chord(profile: np.ndarray, bass_pc: int | None = None, min_weight: float = 1e-6) -> tuple[int, str] | None:
    """Best (root, quality) for a 12-bin pitch-class weight profile, or None when there are no notes."""
    total = float(profile.sum())
    if total < min_weight:
        return None
    p = profile / total
    scores = _TEMPLATES @ p - _COMPLEXITY_PENALTY
    if bass_pc is not None:  # the lowest note is most often the root
        roots = np.tile(np.arange(12), len(_TEMPLATE_QUALITIES))
        scores = scores + 0.08 * (roots == bass_pc)
    best = int(np.argmax(scores))
    return best % 12, _TEMPLATE_QUALITIES[best // 12]


def estimate_harmony(notes: Sequence[Note], total_steps: int, steps_per_beat: int = 4, beats_per_chord: int = 2) -> list[Chord]:
    """Chord symbols for a stretch of notes (all voices): one estimate per `beats_per_chord` beats, merged when equal."""
    span = steps_per_beat * beats_per_chord
    n_spans = max(1, -(-total_steps // span))
    profiles = np.zeros((n_spans, 12))
    lowest = np.full(n_spans, 200)
    for n in notes:
        lo, hi = max(0, n.start), min(total_steps, n.end)
        for k in range(lo // span, min(n_spans, -(-hi // span))):
            overlap = min(hi, (k + 1) * span) - max(lo, k * span)
            if overlap > 0:
                # Velocity and length weight; low notes weigh more since they define the harmony.
                profiles[k, n.pitch % 12] += overlap * (1.0 + (n.pitch < 60) * 0.5)
                lowest[k] = min(lowest[k], n.pitch)
    chords: list[Chord] = []
    for k in range(n_spans):
        est = estimate_chord(profiles[k], None if lowest[k] == 200 else int(lowest[k]) % 12)
        start, dur = k * span, min(span, total_steps - k * span)
        root, quality = est if est else (None, "maj")
        if chords and chords[-1].root == root and chords[-1].quality == quality and chords[-1].end == start:
            last = chords[-1]
            chords[-1] = Chord(last.root, last.quality, last.start, last.duration + dur)
        else:
            chords.append(Chord(root, quality, start, dur))
    return chords


def merge_chords(chords: Sequence[Chord]) -> list[Chord]:
    """Sort, clip overlaps and join adjacent equal chords."""
    out: list[Chord] = []
    for c in sorted(chords, key=lambda c: c.start):
        if out and out[-1].end > c.start:
            prev = out[-1]
            if c.start <= prev.start:
                out.pop()
            else:
                out[-1] = Chord(prev.root, prev.quality, prev.start, c.start - prev.start, prev.bass)
        if out and out[-1].root == c.root and out[-1].quality == c.quality and out[-1].bass == c.bass and out[-1].end == c.start:
            prev = out[-1]
            out[-1] = Chord(prev.root, prev.quality, prev.start, prev.duration + c.duration, prev.bass)
        elif c.duration > 0:
            out.append(c)
    return out
