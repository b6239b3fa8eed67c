"""Tunesmith's music data model: a piece on a 16th-note grid with aligned melody, harmony, bass and drums.

Times are integer grid steps (a 16th note in 4/4 and 3/4; an 8th-note triplet subdivision is not
modelled). Swing and humanisation belong to the arrangement and performance, not to the grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

STEPS_PER_BEAT = 4  # 16th-note grid

PITCH_CLASS_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Tonics whose key signature has sharps, by mode; F#/Gb and C#/Db (major) and D#/Eb (minor) follow the spelling asked for.
_SHARP_TONICS = {"major": {7, 2, 9, 4, 11}, "minor": {4, 11, 6, 1, 8}}
_NAME_TO_PC = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "E#": 5, "F": 5,
    "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11, "CB": 11,
}

# Chord qualities: intervals above the root. Sevenths and common extensions are kept because jazz
# harmony needs them; anything rarer is reduced to the nearest of these by the readers.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "minmaj7": (0, 3, 7, 11),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "7sus4": (0, 5, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
    "7b9": (0, 4, 7, 10, 13),
    "13": (0, 4, 7, 10, 14, 21),
}
QUALITY_NAMES: tuple[str, ...] = tuple(CHORD_QUALITIES)
_QUALITY_SUFFIX = {
    "maj": "", "min": "m", "dim": "dim", "aug": "+", "sus2": "sus2", "sus4": "sus4", "6": "6",
    "min6": "m6", "7": "7", "maj7": "maj7", "min7": "m7", "minmaj7": "m(maj7)", "hdim7": "m7b5",
    "dim7": "dim7", "7sus4": "7sus4", "9": "9", "maj9": "maj9", "min9": "m9", "7b9": "7b9", "13": "13",
}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; harmonic/melodic alterations are allowed by the rules


def pitch_class(name: str) -> int:
    """Pitch class of a note name such as 'Eb', 'f#', 'Bb'."""
    key = name.strip().upper().replace("♭", "B").replace("♯", "#")
    if key not in _NAME_TO_PC:
        raise ValueError(f"Unknown note name {name!r}")
    return _NAME_TO_PC[key]


@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch, onset and length in grid steps, and MIDI velocity."""

    pitch: int
    start: int
    duration: int
    velocity: int = 90

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True)
class Chord:
    """A chord symbol held from `start` for `duration` steps. `root` None means "no chord" (N.C.)."""

    root: int | None
    quality: str
    start: int
    duration: int
    bass: int | None = None  # slash-chord bass pitch class, when given

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def is_rest(self) -> bool:
        return self.root is None

    def pitch_classes(self) -> tuple[int, ...]:
        if self.root is None:
            return ()
        return tuple(sorted({(self.root + i) % 12 for i in CHORD_QUALITIES[self.quality]}))

    def symbol(self, key: "Key | None" = None) -> str:
        """The chord's name, e.g. "C#m7"; roots are spelled as `key`'s signature spells them (flats without a key)."""
        if self.root is None:
            return "N.C."
        names = SHARP_NAMES if key is not None and key.uses_sharps else PITCH_CLASS_NAMES
        text = names[self.root] + _QUALITY_SUFFIX[self.quality]
        if self.bass is not None and self.bass != self.root:
            text += "/" + names[self.bass]
        return text

    def transposed(self, semitones: int) -> "Chord":
        if self.root is None:
            return self
        bass = None if self.bass is None else (self.bass + semitones) % 12
        return replace(self, root=(self.root + semitones) % 12, bass=bass)


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class and mode. `spelling` is the tonic's name as asked ("C#", "Gb"): it changes
    how the key and its chords are written, not what they are (two spellings of one key compare equal)."""

    tonic: int = 0  # pitch class
    mode: str = "major"  # "major" or "minor"
    spelling: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ("major", "minor"):
            raise ValueError(f"Key mode must be 'major' or 'minor', not {self.mode!r}")

    @property
    def uses_sharps(self) -> bool:
        if self.spelling is not None and len(self.spelling) > 1:
            return self.spelling[1] == "#"
        return self.tonic in _SHARP_TONICS[self.mode]

    @property
    def scale(self) -> tuple[int, ...]:
        steps = MAJOR_SCALE if self.mode == "major" else MINOR_SCALE
        return tuple((self.tonic + s) % 12 for s in steps)

    @property
    def tonic_name(self) -> str:
        if self.spelling is not None:
            return self.spelling
        return (SHARP_NAMES if self.uses_sharps else PITCH_CLASS_NAMES)[self.tonic]

    @property
    def name(self) -> str:
        return self.tonic_name + ("" if self.mode == "major" else "m")

    @classmethod
    def parse(cls, text: str) -> "Key":
        """Parse 'C', 'Eb', 'F#m', 'A minor', 'd min'."""
        raw = text.strip()
        lowered = raw.lower()
        mode = "major"
        for suffix, m in ((" minor", "minor"), (" min", "minor"), (" major", "major"), (" maj", "major")):
            if lowered.endswith(suffix):
                raw, mode = raw[: -len(suffix)], m
                break
        else:
            if raw.endswith("m") and len(raw) > 1:
                raw, mode = raw[:-1], "minor"
        try:
            raw = raw.strip().replace("♭", "b").replace("♯", "#")
            tonic = pitch_class(raw)
            return cls(tonic, mode, raw[0].upper() + raw[1:].lower())
        except ValueError:
            raise ValueError(f"Unknown key {text!r}: use a note name with an optional 'm' for minor, like C, Eb, F#m.") from None


@dataclass(frozen=True)
class Meter:
    numerator: int = 4
    denominator: int = 4

    @property
    def steps_per_bar(self) -> int:
        # 16th-note grid: 4/4 -> 16, 3/4 -> 12, 6/8 -> 12
        return self.numerator * 16 // self.denominator

    @property
    def beats_per_bar(self) -> int:
        return self.steps_per_bar // STEPS_PER_BEAT


@dataclass
class Piece:
    """A piece of music on the grid. Melody is monophonic; drums use General MIDI percussion pitches.

    Only the music and where it came from: a generated piece's style and mood are in its MusicalPlan
    (engine/plan/), a data set's labels for a piece in engine.data.labelled.Labels.
    """

    bars: int
    key: Key = field(default_factory=Key)
    meter: Meter = field(default_factory=Meter)
    tempo: float = 120.0
    melody: list[Note] = field(default_factory=list)
    harmony: list[Chord] = field(default_factory=list)
    bass: list[Note] = field(default_factory=list)
    drums: list[Note] = field(default_factory=list)
    source: str = ""  # data set or "generated"
    name: str = ""  # piece identifier within its source

    @property
    def steps_per_bar(self) -> int:
        return self.meter.steps_per_bar

    @property
    def total_steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def seconds_per_step(self) -> float:
        return 60.0 / self.tempo / STEPS_PER_BEAT

    @property
    def duration_seconds(self) -> float:
        return self.total_steps * self.seconds_per_step

    def chord_at(self, step: int) -> Chord | None:
        for chord in self.harmony:
            if chord.start <= step < chord.end:
                return chord
        return None

    def chords_per_beat(self) -> list[Chord | None]:
        """The chord sounding at each beat, one entry per beat of the piece."""
        return [self.chord_at(b * STEPS_PER_BEAT) for b in range(self.total_steps // STEPS_PER_BEAT)]

    def transposed(self, semitones: int) -> "Piece":
        """The same piece moved by `semitones` (key, melody, harmony and bass; drums unchanged)."""

        def shift(notes: list[Note]) -> list[Note]:
            return [replace(n, pitch=n.pitch + semitones) for n in notes]

        return replace(
            self,
            key=Key((self.key.tonic + semitones) % 12, self.key.mode),
            melody=shift(self.melody),
            harmony=[c.transposed(semitones) for c in self.harmony],
            bass=shift(self.bass),
        )

    def normalised(self) -> tuple["Piece", int]:
        """This piece transposed to tonic C (C major or C minor) and the shift applied, for learning."""
        shift = -self.key.tonic
        if shift < -6:
            shift += 12
        return self.transposed(shift), shift

    def window(self, first_bar: int, bars: int) -> "Piece":
        """Bars [first_bar, first_bar + bars) as a new piece, notes clipped to the window."""
        lo = first_bar * self.steps_per_bar
        hi = lo + bars * self.steps_per_bar

        def clip_notes(notes: list[Note]) -> list[Note]:
            out = []
            for n in notes:
                if n.start >= lo and n.start < hi:
                    out.append(replace(n, start=n.start - lo, duration=max(1, min(n.end, hi) - n.start)))
            return out

        chords = []
        for c in self.harmony:
            s, e = max(c.start, lo), min(c.end, hi)
            if s < e:
                chords.append(replace(c, start=s - lo, duration=e - s))
        return replace(
            self,
            bars=bars,
            melody=clip_notes(self.melody),
            harmony=chords,
            bass=clip_notes(self.bass),
            drums=clip_notes(self.drums),
            name=f"{self.name}@{first_bar}",
        )
