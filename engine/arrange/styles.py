"""What each style plays: the band (General MIDI programs per role), its textures, groove and tempo range.

Mood can swap an instrument (`mood_instruments`); everything else about the mood lives in `mood.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pretty_midi

from engine.labels import STYLES


@dataclass(frozen=True)
class Instrument:
    """A General MIDI program (0-based) and, for drums, the kit (GS drum-kit preset on bank 128)."""

    program: int
    is_drum: bool = False

    @property
    def name(self) -> str:
        if self.is_drum:
            return {0: "Standard Kit", 8: "Room Kit", 16: "Power Kit", 24: "Electronic Kit", 32: "Jazz Kit", 40: "Brush Kit"}.get(self.program, "Drum Kit")
        return pretty_midi.program_to_instrument_name(self.program)


def gm(name: str) -> Instrument:
    return Instrument(pretty_midi.instrument_name_to_program(name))


KIT, JAZZ_KIT, BRUSH_KIT, POWER_KIT, ELECTRONIC_KIT = (Instrument(p, True) for p in (0, 32, 40, 16, 24))


@dataclass(frozen=True)
class StyleSpec:
    """One style's arrangement recipe.

    comping: how the chord instrument voices and plays chords ("rootless", "block", "arpeggio", "strum",
    "alberti", "chorale", "pad", "power"); bass: "walking", "pattern" (learned style patterns), "root_fifth",
    "pedal" or "piece" (the model's own bass line when it made one); swing: ratio of the beat at which the
    off-beat eighth falls (0.5 is straight); drums: key into the learned grooves, or None for no drums.
    """

    instruments: dict[str, Instrument]
    comping: str
    bass: str
    tempo_range: tuple[float, float]
    swing: float = 0.5
    drums: str | None = None
    comp_rhythm: str | None = None  # key into learned comping rhythms
    comp_register: int = 60  # centre pitch of the chord voicings
    melody_register: tuple[int, int] = (60, 84)
    mood_instruments: dict[str, dict[str, Instrument]] = field(default_factory=dict)
    timing_spread_ms: float = 8.0  # humanising: how far a player strays from the grid
    bass_drive: bool = False  # busy moods push a root-and-fifth bass to driving eighths (rock, pop, game)
    reverb_scale: float = 1.0  # the style's room: ambient washes, rock stays dry


CALM_MOODS = ("calm", "dreamy", "sad")

STYLE_SPECS: dict[str, StyleSpec] = {
    "jazz": StyleSpec(
        instruments={"Melody": gm("Tenor Sax"), "Piano": gm("Acoustic Grand Piano"), "Bass": gm("Acoustic Bass"), "Drums": JAZZ_KIT},
        comping="rootless", bass="walking", tempo_range=(90, 220), swing=0.64, drums="jazz", comp_rhythm="jazz",
        comp_register=57, melody_register=(55, 82),
        mood_instruments={
            "calm": {"Piano": gm("Electric Piano 1"), "Drums": BRUSH_KIT, "Melody": gm("Vibraphone")},
            "dreamy": {"Piano": gm("Electric Piano 1"), "Drums": BRUSH_KIT, "Melody": gm("Flute")},
            "sad": {"Melody": gm("Muted Trumpet"), "Drums": BRUSH_KIT},
            "energetic": {"Melody": gm("Trumpet")},
            "dark": {"Melody": gm("Muted Trumpet")},
        },
    ),
    "blues": StyleSpec(
        instruments={"Melody": gm("Electric Guitar (jazz)"), "Piano": gm("Acoustic Grand Piano"), "Bass": gm("Electric Bass (finger)"), "Drums": KIT},
        comping="block", bass="pattern", tempo_range=(70, 140), swing=0.66, drums="blues", comp_rhythm="blues",
        comp_register=62, melody_register=(55, 82),
        mood_instruments={
            "energetic": {"Melody": gm("Overdriven Guitar"), "Piano": gm("Drawbar Organ")},
            "dark": {"Melody": gm("Overdriven Guitar"), "Piano": gm("Drawbar Organ")},
            "happy": {"Melody": gm("Harmonica")},
        },
    ),
    "latin": StyleSpec(
        instruments={"Melody": gm("Flute"), "Guitar": gm("Acoustic Guitar (nylon)"), "Bass": gm("Acoustic Bass"), "Drums": KIT},
        comping="block", bass="pattern", tempo_range=(110, 150), drums="latin", comp_rhythm="latin",
        comp_register=60, melody_register=(60, 86),
        mood_instruments={
            "energetic": {"Melody": gm("Trumpet")},
            "happy": {"Melody": gm("Alto Sax")},
            "sad": {"Melody": gm("Tenor Sax")},
            "dark": {"Melody": gm("Tenor Sax")},
            "calm": {"Melody": gm("Vibraphone")},
        },
    ),
    "pop": StyleSpec(
        instruments={"Melody": gm("Electric Guitar (clean)"), "Piano": gm("Acoustic Grand Piano"), "Bass": gm("Electric Bass (finger)"), "Drums": KIT},
        comping="block", bass="piece", tempo_range=(80, 128), drums="pop", comp_rhythm="pop", bass_drive=True,
        comp_register=62, melody_register=(60, 84),
        mood_instruments={
            "calm": {"Melody": gm("Electric Piano 1"), "Pad": gm("String Ensemble 1")},
            "dreamy": {"Melody": gm("Electric Piano 2"), "Pad": gm("Pad 2 (warm)")},
            "sad": {"Melody": gm("Electric Piano 1"), "Pad": gm("String Ensemble 1")},
            "energetic": {"Melody": gm("Lead 2 (sawtooth)")},
        },
    ),
    "rock": StyleSpec(
        instruments={"Melody": gm("Distortion Guitar"), "Guitar": gm("Overdriven Guitar"), "Bass": gm("Electric Bass (pick)"), "Drums": KIT},
        comping="power", bass="pattern", tempo_range=(90, 160), drums="rock", bass_drive=True, reverb_scale=0.8,
        comp_register=52, melody_register=(55, 84),
        mood_instruments={
            "calm": {"Melody": gm("Electric Guitar (clean)"), "Guitar": gm("Electric Guitar (clean)")},
            "dreamy": {"Melody": gm("Electric Guitar (clean)"), "Guitar": gm("Electric Guitar (clean)")},
            "sad": {"Melody": gm("Electric Guitar (clean)"), "Guitar": gm("Electric Guitar (clean)")},
            "happy": {"Melody": gm("Overdriven Guitar"), "Guitar": gm("Electric Guitar (clean)")},
            "energetic": {"Drums": POWER_KIT},
            "dark": {"Drums": POWER_KIT},
        },
    ),
    "folk": StyleSpec(
        instruments={"Melody": gm("Fiddle"), "Guitar": gm("Acoustic Guitar (steel)"), "Bass": gm("Acoustic Bass"), "Drums": KIT},
        comping="strum", bass="root_fifth", tempo_range=(80, 140), drums="folk", comp_rhythm="folk",
        comp_register=55, melody_register=(60, 88), timing_spread_ms=10.0,
        mood_instruments={
            "calm": {"Melody": gm("Flute")}, "dreamy": {"Melody": gm("Flute")},
            "sad": {"Melody": gm("Harmonica")}, "happy": {"Melody": gm("Accordion")},
        },
    ),
    "celtic": StyleSpec(
        instruments={"Melody": gm("Fiddle"), "Guitar": gm("Acoustic Guitar (steel)"), "Bass": gm("Acoustic Bass"), "Drums": KIT},
        comping="strum", bass="root_fifth", tempo_range=(90, 170), drums="celtic", comp_rhythm="folk", reverb_scale=1.2,
        comp_register=55, melody_register=(62, 90), timing_spread_ms=10.0,
        mood_instruments={
            "calm": {"Melody": gm("Whistle"), "Guitar": gm("Orchestral Harp")},
            "dreamy": {"Melody": gm("Whistle"), "Guitar": gm("Orchestral Harp")},
            "sad": {"Melody": gm("Flute"), "Guitar": gm("Orchestral Harp")},
            "dark": {"Melody": gm("Bagpipe")},
        },
    ),
    "classical": StyleSpec(
        instruments={"Melody": gm("Violin"), "Piano": gm("Acoustic Grand Piano"), "Bass": gm("Cello")},
        comping="alberti", bass="pedal", tempo_range=(60, 132), drums=None, reverb_scale=1.3,
        comp_register=60, melody_register=(60, 91), timing_spread_ms=6.0,
        mood_instruments={
            "calm": {"Piano": gm("String Ensemble 1"), "Melody": gm("Oboe")},
            "sad": {"Piano": gm("String Ensemble 1"), "Melody": gm("Cello"), "Bass": gm("Contrabass")},
            "dreamy": {"Piano": gm("String Ensemble 2"), "Melody": gm("Flute")},
            "dark": {"Melody": gm("Viola"), "Bass": gm("Contrabass")},
        },
    ),
    "game": StyleSpec(
        instruments={"Melody": gm("Lead 1 (square)"), "Synth": gm("Lead 2 (sawtooth)"), "Bass": gm("Synth Bass 1"), "Drums": ELECTRONIC_KIT},
        comping="arpeggio", bass="piece", tempo_range=(100, 170), drums="game", bass_drive=True,
        comp_register=60, melody_register=(62, 90), timing_spread_ms=0.0,
        mood_instruments={
            "calm": {"Melody": gm("Ocarina"), "Synth": gm("Pad 1 (new age)")},
            "dreamy": {"Melody": gm("Celesta"), "Synth": gm("Pad 1 (new age)")},
            "sad": {"Melody": gm("Lead 8 (bass + lead)"), "Synth": gm("Pad 2 (warm)")},
            "dark": {"Synth": gm("Pad 8 (sweep)")},
        },
    ),
    "lofi": StyleSpec(
        instruments={"Melody": gm("Electric Guitar (jazz)"), "Keys": gm("Electric Piano 1"), "Bass": gm("Electric Bass (finger)"), "Drums": KIT},
        comping="rootless", bass="root_fifth", tempo_range=(70, 92), swing=0.6, drums="lofi", comp_rhythm="jazz",
        comp_register=60, melody_register=(58, 80), timing_spread_ms=14.0,
        mood_instruments={"dreamy": {"Melody": gm("Vibraphone")}, "calm": {"Melody": gm("Vibraphone")}},
    ),
    "ambient": StyleSpec(
        instruments={"Melody": gm("Electric Piano 2"), "Pad": gm("Pad 2 (warm)"), "Bass": gm("Contrabass")},
        comping="pad", bass="pedal", tempo_range=(60, 84), drums=None, reverb_scale=1.5,
        comp_register=60, melody_register=(64, 91), timing_spread_ms=12.0,
        mood_instruments={
            "dark": {"Pad": gm("Pad 8 (sweep)"), "Melody": gm("Pad 4 (choir)")},
            "sad": {"Pad": gm("Pad 4 (choir)")},
            "dreamy": {"Melody": gm("Celesta")},
        },
    ),
}

assert set(STYLE_SPECS) == set(STYLES), "every style the bot offers needs an arrangement"


def instruments_for(style: str, mood: str) -> dict[str, Instrument]:
    """The band for a style in a mood: the style's instruments with the mood's substitutions (and additions)."""
    spec = STYLE_SPECS[style]
    return {**spec.instruments, **spec.mood_instruments.get(mood, {})}


# role -> instrument name, per style, in its default line-up: what each style promises to play.
STYLE_INSTRUMENTS: dict[str, dict[str, str]] = {
    style: {role: inst.name for role, inst in spec.instruments.items()} for style, spec in STYLE_SPECS.items()
}
