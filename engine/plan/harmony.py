"""Progressions in each style's idiom, written as Roman numerals and turned into the model's chord tokens.

A progression is a string of bars separated by spaces; a bar holds one chord, or several separated by
commas that share the bar equally ("ii7,V7" is two beats each in 4/4). Numerals are relative to the
tonic: upper case major, lower case minor, "b" lowers the root, suffixes "7", "maj7", "m7" (on upper
case), "ø7", "o" (diminished), "o7", "sus4", "6". Minor-key progressions are written against the minor
tonic (i, iv, V7, bVI, bVII). Tokens are C-relative, as the model writes them; the key moves them later.

The banks are the progressions these styles are known by (the 12-bar blues, ii–V–I and turnarounds,
I–V–vi–IV and its rotations, modal celtic harmony without major sevenths, chorale cadences, two- to
four-chord loops with slow harmonic rhythm for lofi and ambient); the form chooses one per phrase by
the seed, so the same material always gets the same chords.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.music import Chord
from engine.tokens import chord_token

_DEGREES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_NUMERAL = re.compile(r"^(b|#)?(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(.*)$")
_SUFFIX_MAJOR = {"": "maj", "7": "7", "maj7": "maj7", "m7": "min7", "6": "6", "sus4": "sus4", "o": "dim", "o7": "dim7", "+": "aug"}
_SUFFIX_MINOR = {"": "min", "7": "min7", "m7": "min7", "6": "min6", "ø7": "hdim7", "o": "dim", "o7": "dim7"}


@lru_cache(maxsize=None)
def numeral_token(numeral: str) -> int:
    """The C-relative chord token of one Roman numeral ("bVII", "ii7", "V7", "iiø7")."""
    match = _NUMERAL.match(numeral.strip())
    if not match:
        raise ValueError(f"Not a Roman numeral: {numeral!r}")
    accidental, degree, suffix = match.groups()
    root = (_DEGREES[degree.upper()] + {"b": -1, "#": 1, None: 0}[accidental]) % 12
    qualities = _SUFFIX_MAJOR if degree.isupper() else _SUFFIX_MINOR
    if suffix not in qualities:
        raise ValueError(f"Unknown chord suffix {suffix!r} in {numeral!r}")
    return chord_token(Chord(root, qualities[suffix], 0, 4))


def progression_beats(progression: str, beats_per_bar: int = 4) -> list[int]:
    """One chord token per beat for a progression string (see the module docstring)."""
    beats: list[int] = []
    for bar in progression.split():
        chords = bar.split(",")
        if beats_per_bar % len(chords):
            raise ValueError(f"{len(chords)} chords do not divide a bar of {beats_per_bar} beats: {bar!r}")
        for numeral in chords:
            beats += [numeral_token(numeral)] * (beats_per_bar // len(chords))
    return beats


def bars_of(progression: str) -> int:
    return len(progression.split())


# Per style and mode: progressions for the roles a phrase can have in a form. Each is 4 bars unless its
# role says otherwise ("blues12": 12 bars, "section8": 8 bars). "opening" starts on the tonic and ends
# open or on a half cadence; "closing" ends with an authentic cadence; "contrast" is the B / bridge /
# chorus material; "loop" is a hook meant to repeat (lofi, game, ambient).
BANKS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "pop": {
        "major": {
            "opening": ("I V vi IV", "I vi IV V", "I IV vi V", "I V IV IV", "vi IV I V", "IV I V vi", "IV V I vi"),
            "closing": ("I V vi IV,V I", "I vi IV,V I", "IV V I I", "vi IV V I"),
            "contrast": ("IV V iii vi", "IV I V vi", "vi IV I V", "IV V vi vi"),
            "pre": ("ii IV V V", "IV V IV V"),
        },
        "minor": {
            "opening": ("i bVI bIII bVII", "i iv bVI V", "i bVII bVI bVII", "bVI bVII i i", "iv bVI bVII i"),
            "closing": ("i bVI bVII i", "iv bVII V i", "bVI bVII V i"),
            "contrast": ("bVI bVII i i", "bIII bVII iv V", "bVI bIII bVII bVII"),
            "pre": ("iv bVI V V", "bVI bVII V V"),
        },
    },
    "rock": {
        "major": {
            "opening": ("I bVII IV I", "I IV V IV", "I V IV IV", "I bIII IV I", "IV I V I", "bVII IV I I"),
            "closing": ("I bVII IV,V I", "IV V I I", "I IV V I"),
            "contrast": ("IV IV I I", "vi IV I V", "IV V vi V", "bVI bVII I I"),
            "pre": ("IV V IV V", "ii IV V V"),
        },
        "minor": {
            "opening": ("i bVII bVI bVII", "i iv bVII i", "i bIII bVII iv", "bVI bVII i i", "iv bVII i i"),
            "closing": ("i bVII bVI,bVII i", "iv bVII V i", "bVI bVII i i"),
            "contrast": ("bVI bVII i i", "iv iv i i", "bIII bVII bVI V"),
            "pre": ("bVI bVII V V", "iv bVI V V"),
        },
    },
    "blues": {
        "major": {
            "blues12": ("I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7", "I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7",
                        "I7 IV7 I7 I7 IV7 IV7 I7 VI7 ii7 V7 I7,VI7 ii7,V7"),
            "opening": ("I7 IV7 I7 V7", "I7 I7 IV7 IV7", "I7 IV7 I7 I7", "IV7 IV7 I7 I7", "V7 IV7 I7 I7"),
            "closing": ("IV7 IV7 I7 I7", "V7 IV7 I7 I7", "I7 V7 I7 I7", "IV7 #IVo7 I7,VI7 ii7,V7", "ii7,V7 IV7 I7,VI7 ii7,V7"),
            "contrast": ("IV7 IV7 I7 I7", "V7 IV7 I7 V7"),
        },
        "minor": {
            "blues12": ("i7 i7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7", "i7 iv7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 i7"),
            "opening": ("i7 iv7 i7 i7", "i7 i7 iv7 iv7", "iv7 iv7 i7 i7"),
            "closing": ("bVI7 V7 i7 i7", "iv7 V7 i7 i7"),
            "contrast": ("iv7 iv7 i7 i7", "bVI7 V7 i7 V7"),
        },
    },
    "jazz": {
        "major": {
            "section8": ("Imaj7 vi7 ii7 V7 Imaj7 vi7 ii7 V7", "Imaj7 VI7 ii7 V7 iii7 VI7 ii7 V7", "Imaj7 Imaj7 ii7 V7 Imaj7 I7 IVmaj7 iv7"),
            "opening": ("Imaj7 vi7 ii7 V7", "Imaj7 VI7 ii7 V7", "iii7 VI7 ii7 V7", "Imaj7 I7 IVmaj7 iv7", "ii7 V7 Imaj7 Imaj7", "IVmaj7 iv7 iii7 VI7"),
            "closing": ("ii7 V7 Imaj7 Imaj7", "iii7 VI7 ii7,V7 Imaj7", "ii7 V7 iii7,VI7 ii7,V7", "IVmaj7 iv7 iii7,VI7 ii7,V7"),
            "contrast": ("IVmaj7 IVmaj7 iv7 bVII7", "III7 III7 VI7 VI7", "II7 II7 ii7 V7", "v7 I7 IVmaj7 IVmaj7"),
        },
        "minor": {
            "section8": ("i7 i7 iiø7 V7 i7 i7 iiø7 V7", "i7 iv7 bVII7 bIIImaj7 bVImaj7 iiø7 V7 i7"),
            "opening": ("i7 iv7 iiø7 V7", "i7 i7 iiø7 V7", "i7 iv7 bVII7 bIIImaj7", "iiø7 V7 i7 i7", "iv7 bVII7 bIIImaj7 bVImaj7"),
            "closing": ("iiø7 V7 i7 i7", "bVImaj7 iiø7 V7 i7", "iv7 V7 i7 i7"),
            "contrast": ("iv7 iv7 bVII7 bIIImaj7", "bVImaj7 bVImaj7 iiø7 V7", "bIIImaj7 bVImaj7 iiø7 V7"),
        },
    },
    "latin": {
        "major": {
            "opening": ("Imaj7 Imaj7 II7 II7", "Imaj7 vi7 ii7 V7", "I6 I6 ii7 V7", "ii7 V7 Imaj7 Imaj7", "IVmaj7 iv7 iii7 VI7"),
            "closing": ("ii7 V7 Imaj7 Imaj7", "ii7 bII7 Imaj7 Imaj7", "IVmaj7 iv7 iii7,VI7 ii7,V7"),
            "contrast": ("ii7 ii7 V7 V7", "IVmaj7 IVmaj7 iv7 iv7", "iii7 VI7 ii7 V7"),
        },
        "minor": {
            "opening": ("i7 i7 iv7 iv7", "i7 iv7 V7 i7", "i6 i6 iv7 V7", "iv7 V7 i7 i7", "iiø7 V7 i6 i6"),
            "closing": ("iiø7 V7 i7 i7", "iv7 V7 i6 i6", "bVImaj7 V7 i7 i7"),
            "contrast": ("iv7 iv7 i7 i7", "bVII7 bVII7 bIIImaj7 bVImaj7", "iv7 bVII7 bIIImaj7 V7"),
        },
    },
    "folk": {
        "major": {
            "opening": ("I IV I V", "I I IV V", "I V I V", "I IV V V", "I IV,I V I", "V V I I", "IV I V I"),
            "closing": ("I IV V I", "IV I V I", "I V I I", "IV V I I", "I IV,I V,I I", "IV,V I,IV V I"),
            "contrast": ("IV I V I", "vi IV V V", "IV IV I V", "V V I I"),
        },
        "minor": {
            "opening": ("i bVII i V", "i iv i V", "i bIII bVII i", "V V i i", "iv i V i"),
            "closing": ("i bVII V i", "iv V i i", "bVI bVII i i"),
            "contrast": ("bIII bVII i V", "iv i V i", "bVI bIII bVII V"),
        },
    },
    # Celtic: the modal harmony of session tunes (mixolydian bVII, dorian IV in minor), triads only.
    "celtic": {
        "major": {
            "opening": ("I I bVII bVII", "I IV I V", "I bVII I V", "I I IV V"),
            "closing": ("I IV V I", "I bVII V I", "IV V I I", "I V I I"),
            "contrast": ("bVII bVII I I", "IV IV I V", "vi vi I V", "IV bVII I I"),
        },
        "minor": {
            "opening": ("i i bVII bVII", "i IV i bVII", "i bVII i bVII", "i i bIII bVII"),
            "closing": ("i bVII i i", "bVI bVII i i", "iv bVII i i", "i bVII v i"),
            "contrast": ("bIII bIII bVII bVII", "bVII bVII i i", "bIII bVII i i", "IV IV i i"),
        },
    },
    "classical": {
        "major": {
            "opening": ("I IV V I", "I vi ii V", "I V I V", "I ii7 V V"),
            "closing": ("I IV V I", "vi ii V I", "I IV,V I I", "ii V7 I I"),
            "contrast": ("V V I V", "vi iii IV V", "IV I ii V", "V I V V"),
        },
        "minor": {
            "opening": ("i iv V i", "i bVI iiø7 V", "i V i V", "i iv V V"),
            "closing": ("i iv V i", "bVI iiø7 V i", "iv V7 i i", "i iv,V i i"),
            "contrast": ("bIII bVII bIII V", "iv i V i", "bVI iv V V"),
        },
    },
    "game": {
        "major": {
            "loop": ("I V vi IV", "I IV V IV", "vi IV I V", "I bVII IV I"),
            "opening": ("I V vi IV", "I IV I V"),
            "closing": ("IV V I I", "vi IV V I"),
            "contrast": ("IV V vi vi", "bVI bVII I I", "IV IV V V"),
        },
        "minor": {
            "loop": ("i bVI bVII i", "i bVII bVI bVII", "i iv bVII bIII", "i bVI bIII bVII"),
            "opening": ("i bVI bVII i", "i iv V i"),
            "closing": ("bVI bVII i i", "iv V i i"),
            "contrast": ("bVI bVII bVI V", "iv iv V V", "bIII bVII iv V"),
        },
    },
    "lofi": {
        "major": {
            "loop": ("ii7 V7 Imaj7 vi7", "Imaj7 vi7 ii7 V7", "IVmaj7 iii7 ii7 Imaj7", "ii7 ii7 Imaj7 Imaj7", "IVmaj7 IVmaj7 iii7 vi7"),
            "opening": ("ii7 V7 Imaj7 vi7", "IVmaj7 iii7 ii7 Imaj7"),
            "closing": ("ii7 V7 Imaj7 Imaj7", "IVmaj7 iv7 Imaj7 Imaj7"),
            "contrast": ("IVmaj7 IVmaj7 iii7 vi7", "vi7 vi7 ii7 V7"),
        },
        "minor": {
            "loop": ("i7 iv7 i7 iv7", "i7 bVImaj7 iv7 V7", "iv7 iv7 i7 i7", "i7 i7 bVImaj7 bVImaj7"),
            "opening": ("i7 iv7 i7 iv7", "i7 bVImaj7 iv7 V7"),
            "closing": ("iv7 V7 i7 i7", "bVImaj7 V7 i7 i7"),
            "contrast": ("bVImaj7 bVImaj7 iv7 iv7", "bIIImaj7 bIIImaj7 iv7 V7"),
        },
    },
    # Ambient: two bars per chord or longer, so the harmony moves about once every bar or two.
    "ambient": {
        "major": {
            "loop": ("Imaj7 Imaj7 IVmaj7 IVmaj7", "I I vi vi", "IVmaj7 IVmaj7 Imaj7 Imaj7", "I I IV IV"),
            "opening": ("Imaj7 Imaj7 IVmaj7 IVmaj7", "I I vi vi"),
            "closing": ("IV IV I I", "IVmaj7 IVmaj7 Imaj7 Imaj7"),
            "contrast": ("vi vi IV IV", "IVmaj7 IVmaj7 V V"),
        },
        "minor": {
            "loop": ("i i bVI bVI", "i i iv iv", "bVI bVI i i"),
            "opening": ("i i bVI bVI", "i i iv iv"),
            "closing": ("iv iv i i", "bVI bVI i i"),
            "contrast": ("bVI bVI bIII bIII", "iv iv bVI bVI"),
        },
    },
}

# Chord tokens a cadence puts in the last two bars of a phrase (C-relative), per mode.
DOMINANT = {"major": "V7", "minor": "V7"}
TONIC = {"major": "I", "minor": "i"}


def bank(style: str, mode: str) -> dict[str, tuple[str, ...]]:
    return BANKS[style][mode]


__all__ = ["BANKS", "bank", "bars_of", "numeral_token", "progression_beats"]
