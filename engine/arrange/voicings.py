"""Chord voicings: which pitches a chord instrument plays, voice-led from the previous chord."""

from __future__ import annotations

from engine.music import CHORD_QUALITIES, Chord

# Rootless voicings (Bill Evans' A and B forms) by chord family: intervals above the root.
_ROOTLESS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "dom": ((4, 9, 10, 14), (10, 14, 16, 21)),
    "maj7": ((4, 7, 11, 14), (11, 14, 16, 19)),
    "maj6": ((4, 7, 9, 14), (9, 14, 16, 19)),
    "min7": ((3, 7, 10, 14), (10, 14, 15, 19)),
    "min6": ((3, 7, 9, 14), (9, 14, 15, 19)),
    "minmaj7": ((3, 7, 11, 14), (11, 14, 15, 19)),
    "hdim7": ((3, 6, 10, 17), (10, 15, 17, 18)),  # b3 b5 b7 11
    "dim7": ((3, 6, 9, 14), (9, 14, 15, 18)),  # with the 9th of the diminished scale
    "aug": ((4, 8, 10, 14), (10, 14, 16, 20)),
    "sus": ((5, 7, 10, 14), (10, 14, 17, 19)),
}
_FAMILY = {"7": "dom", "9": "dom", "13": "dom", "7b9": "dom", "maj7": "maj7", "maj9": "maj7", "maj": "maj6",
           "6": "maj6", "min7": "min7", "min9": "min7", "min": "min7", "min6": "min6", "minmaj7": "minmaj7",
           "hdim7": "hdim7", "dim": "dim7", "dim7": "dim7", "aug": "aug", "sus4": "sus", "sus2": "sus", "7sus4": "sus"}


def third(chord: Chord) -> int:
    """The chord's third above the root (its suspension for sus chords)."""
    intervals = CHORD_QUALITIES[chord.quality]
    return next((i for i in intervals if i in (3, 4)), next((i for i in intervals if i in (2, 5)), 4))


def seventh(chord: Chord) -> int:
    """The chord's seventh; for a triad, the one jazz players add (major seventh on major, minor on minor)."""
    intervals = CHORD_QUALITIES[chord.quality]
    if chord.quality in ("dim7", "dim", "6", "min6"):
        return 9
    return next((i for i in intervals if i in (10, 11)), 10 if chord.quality in ("min", "sus4", "sus2") else 11)


def fifth(chord: Chord) -> int:
    return next((i for i in CHORD_QUALITIES[chord.quality] if i in (6, 7, 8)), 7)


def _place(root: int, intervals: tuple[int, ...], low: int) -> list[int]:
    """Intervals stacked on the lowest root at or above `low - 12`, shifted so the bottom note is >= low."""
    base = root + 12 * ((low - root) // 12)
    pitches = [base + i for i in intervals]
    while min(pitches) < low:
        pitches = [p + 12 for p in pitches]
    return pitches


def _closest(candidates: list[list[int]], previous: list[int] | None, centre: int) -> list[int]:
    def cost(v: list[int]) -> float:
        if previous:
            return abs(sum(v) / len(v) - sum(previous) / len(previous)) + 0.5 * abs(sum(v) / len(v) - centre)
        return abs(sum(v) / len(v) - centre)

    return min(candidates, key=cost)


def _inversions(pitch_classes: list[int], low: int, span: int = 12) -> list[list[int]]:
    """Close-position voicings of the pitch classes, each inversion, at a few octaves above `low - span`."""
    out = []
    n = len(pitch_classes)
    for start in range(n):
        order = pitch_classes[start:] + pitch_classes[:start]
        for octave in range(low - span, low + span + 1, 12):
            voicing, last = [], octave - 1
            for pc in order:
                p = last + 1 + (pc - last - 1) % 12
                voicing.append(p)
                last = p
            out.append(voicing)
    return out


def rootless(chord: Chord, centre: int, previous: list[int] | None) -> list[int]:
    """A and B rootless voicings in the comping register, whichever moves least from the last chord."""
    a, b = _ROOTLESS[_FAMILY[chord.quality]]
    candidates = [_place(chord.root, form, low) for form in (a, b) for low in (centre - 12, centre - 6, centre)]
    candidates = [c for c in candidates if centre - 14 <= min(c) and max(c) <= centre + 14]
    return _closest(candidates or [_place(chord.root, a, centre - 7)], previous, centre)


def shell(chord: Chord, centre: int, previous: list[int] | None) -> list[int]:
    """Third and seventh (or seventh and third): the two notes that say what the chord is."""
    t, s = third(chord), seventh(chord)
    candidates = [_place(chord.root, form, low) for form in ((t, s), (s, t + 12)) for low in (centre - 12, centre - 6)]
    return _closest(candidates, previous, centre - 4)


def close(chord: Chord, centre: int, previous: list[int] | None, max_notes: int = 4) -> list[int]:
    """Close-position block chord, the inversion nearest the previous one."""
    intervals = [i for i in CHORD_QUALITIES[chord.quality] if i < 12][:max_notes]
    pcs = [(chord.root + i) % 12 for i in intervals]
    return _closest(_inversions(pcs, centre - 6), previous, centre)


def power(chord: Chord, low: int) -> list[int]:
    """Root, fifth and octave: what a distorted guitar plays."""
    root = _place(chord.root, (0,), low)[0]
    return [root, root + fifth(chord), root + 12]


def guitar(chord: Chord, low: int = 40) -> list[int]:
    """An open-string-like guitar voicing: root low, then chord tones stacked up to six strings."""
    root = _place(chord.root, (0,), low)[0]
    tones = [root, root + fifth(chord), root + 12, root + 12 + third(chord), root + 12 + fifth(chord), root + 24]
    return [p for p in tones if p <= low + 28][:6]


def spread(chord: Chord, centre: int) -> list[int]:
    """An open pad voicing: root, fifth, tenth (and seventh on top when the chord has one)."""
    root = _place(chord.root, (0,), centre - 12)[0]
    tones = [root, root + fifth(chord), root + 12 + third(chord)]
    if any(i in (10, 11) for i in CHORD_QUALITIES[chord.quality]):
        tones.append(root + 12 + seventh(chord))
    return tones
