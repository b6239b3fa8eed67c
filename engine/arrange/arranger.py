"""arrange(): a piece and its musical plan in; a named, multi-instrument MIDI arrangement out."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pretty_midi

from engine.arrange import parts
from engine.arrange.drums import drums
from engine.arrange.dynamics import follow_form
from engine.arrange.expression import articulate, breathe, shape_velocities
from engine.arrange.mood import MoodShape, mood_shape
from engine.arrange.parts import Context, Hit, Timeline
from engine.arrange.perform import Feel, perform
from engine.arrange.sections import FormMap
from engine.arrange.space import MelodySpace
from engine.arrange.styles import STYLE_SPECS, Instrument, instruments_for
from engine.music import Chord, Key, Meter, Piece
from engine.plan.plan import MusicalPlan

# Mixer per role: (volume CC7, pan CC10). The lead sits in the middle, the chords a little left, pads right.
# The volumes are starting points: levels.json (made by `tunesmith arrange calibrate`) replaces them
# per style and mood with volumes measured to put each part at ROLE_LEVELS.
MIX: dict[str, tuple[int, int]] = {"Melody": (108, 64), "Bass": (100, 60), "Drums": (92, 64), "Pad": (72, 84)}
CHORD_MIX = (84, 44)
# Loudness of each part alone, in dB (LUFS) relative to the melody alone.
ROLE_LEVELS: dict[str, float] = {"Melody": 0.0, "Bass": -5.0, "Drums": -6.0, "Pad": -9.0}
CHORD_LEVEL = -6.0
LEVELS_PATH = Path(__file__).with_name("levels.json")
ROLE_ORDER = ("Melody", "Piano", "Guitar", "Keys", "Synth", "Pad", "Bass", "Drums")


@dataclass
class Arrangement:
    """An arranged piece: the MIDI (one named instrument per role) and what the renderer and picture need."""

    midi: pretty_midi.PrettyMIDI
    style: str
    mood: str
    tempo: float
    key: Key
    meter: Meter
    duration_seconds: float
    parts: dict[str, str]  # role -> General MIDI instrument name
    chord_symbols: list[tuple[float, str]]  # (time in seconds, symbol) at each chord change
    bar_times: list[float]  # start of each bar in seconds, and the end of the last
    swing: float  # 0.5 straight; the swing ratio the off-beat eighths were played at
    intro_bars: int  # bars before the piece's melody starts (the last bar is the ending)
    title: str = ""  # the plan's title, e.g. "Calm jazz in C#m"
    sections: list[tuple[float, str]] = field(default_factory=list)  # (start in seconds, name) of each section


def _timeline(piece: Piece, plan: MusicalPlan, intro_bars: int, tonic: Chord) -> Timeline:
    """The piece's chords (else the plan's, when it is in the piece's meter; else the tonic) between the intro and the ending."""
    bar = piece.steps_per_bar
    planned = plan.chords() if plan.meter == piece.meter else []
    harmony = piece.harmony or planned or [Chord(tonic.root, tonic.quality, b * bar, bar) for b in range(piece.bars)]
    intro_steps = intro_bars * bar
    intro = [replace(c, duration=min(c.end, intro_steps) - c.start) for c in harmony if c.start < intro_steps]
    body = [replace(c, start=c.start + intro_steps) for c in harmony if c.start < piece.total_steps]
    body = [replace(c, duration=min(c.duration, intro_steps + piece.total_steps - c.start)) for c in body]
    ending = replace(tonic, start=intro_steps + piece.total_steps, duration=bar)
    return Timeline(intro + body + [ending], bar, intro_steps, piece.total_steps, bar, plan.key)


def _tonic(key: Key, jazzy: bool) -> Chord:
    if key.mode == "major":
        return Chord(key.tonic, "maj7" if jazzy else "maj", 0, 0)
    return Chord(key.tonic, "min6" if jazzy else "min", 0, 0)


def _swing_ratio(base: float, tempo: float) -> float:
    """Faster tempos swing straighter, as players do."""
    if base <= 0.5:
        return 0.5
    return base - 0.06 * max(0.0, min(1.0, (tempo - 120) / 100))


def _part_hits(role: str, ctx: Context, piece: Piece, style: str) -> list[Hit]:
    spec = ctx.spec
    if role == "Melody":
        return _lead(ctx, piece)
    if role == "Drums":
        return drums(ctx, spec.drums) if spec.drums else []
    if role == "Bass":
        return parts.pickups(ctx, _bass(ctx, piece, style))
    if role == "Pad":
        return parts.pads(ctx, spec.comp_register + ctx.shape.register_shift)
    return parts.comping(ctx, spec.comp_rhythm)


def _bass(ctx: Context, piece: Piece, style: str) -> list[Hit]:
    kind = ctx.spec.bass
    if kind == "walking":
        return parts.walking_bass(ctx, "2feel" if ctx.shape.density < 0.3 else "4feel")
    if kind == "pattern" and ctx.timeline.steps_per_bar == 16 and not (ctx.spec.bass_drive and ctx.shape.density > 0.7):
        return parts.pattern_bass(ctx, style)
    if kind == "pedal":
        return parts.pedal_bass(ctx)
    if kind == "piece" and piece.bass:
        return parts.piece_bass(ctx, piece.bass)
    return parts.root_fifth_bass(ctx)


def _lead(ctx: Context, piece: Piece) -> list[Hit]:
    """The melody as a player performs it: articulated by the mood, breathing before each phrase, its
    velocities shaped by phrase, contour and meter around the mood's level."""
    hits = parts.melody(ctx, piece.melody)
    if not hits:
        return []
    bar = ctx.timeline.steps_per_bar
    phrase_starts = [b * bar for b in ctx.form.body_phrase_starts()]
    level = ctx.velocity(0.95 * sum(h.velocity for h in hits) / len(hits))
    hits = breathe(articulate(hits, ctx.shape.arousal), phrase_starts)
    return shape_velocities(hits, phrase_starts, lambda step: level, bar, ctx.rng)


def arrange(piece: Piece, plan: MusicalPlan) -> Arrangement:
    """Arrange `piece` (its notes and chords) as `plan` says: the plan's style, mood, key, tempo and seed,
    its sections deciding who plays, how hard and where the fills and crashes go. Bars past the plan's
    last section play as that section. The same piece and plan give the same MIDI.

    Raises ValueError for an empty piece.
    """
    style, mood = plan.style, plan.mood.name
    if piece.bars < 1:
        raise ValueError("The piece has no bars to arrange.")
    spec, shape = STYLE_SPECS[style], mood_shape(mood)
    tempo = float(plan.tempo)
    key = plan.key
    rng = random.Random(plan.seed)
    tonic = _tonic(key, spec.comping in ("rootless", "shell"))
    intro_bars = 2 if piece.bars >= 8 and spec.drums else 1
    timeline = _timeline(piece, plan, intro_bars, tonic)
    swing = _swing_ratio(spec.swing, tempo)
    feel = Feel(tempo, swing, spec.timing_spread_ms * shape.timing_spread / 1000,
                ritardando_from=timeline.play_steps - timeline.steps_per_bar, ritardando_steps=2 * timeline.steps_per_bar)
    band = instruments_for(style, mood)
    form = FormMap(plan, set(band), intro_bars, piece.bars)
    space = MelodySpace.of(piece.melody, timeline.intro_steps, timeline.body_steps, timeline.steps_per_bar)
    ctx = Context(timeline, spec, shape, rng, tempo, form, space)

    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(piece.meter.numerator, piece.meter.denominator, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(key.tonic + (12 if key.mode == "minor" else 0), 0.0))
    roles = sorted(band, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER))
    last_melody = max(piece.melody, key=lambda n: n.start).pitch if piece.melody else None
    for role in roles:
        hits = follow_form(role, _part_hits(role, ctx, piece, style), ctx)
        if role == "Melody" and hits:
            last_melody = max(hits, key=lambda h: h.start).pitch
        hits += parts.ending(ctx, role, timeline.chords[-1], last_melody)
        notes = perform(hits, feel, rng, 0.5 if role == "Drums" else 1.0)
        midi.instruments.append(_instrument(role, band[role], notes, shape, style, mood))

    duration = midi.get_end_time()
    bar_steps = range(0, timeline.total_steps + 1, timeline.steps_per_bar)
    chord_symbols = []
    for chord in timeline.chords:
        symbol = chord.symbol(key)
        if not chord.is_rest and (not chord_symbols or chord_symbols[-1][1] != symbol):
            chord_symbols.append((feel.seconds(chord.start), symbol))
    # Chord symbols travel in the file too, as text events that DAWs and notation programs show.
    midi.text_events.extend(pretty_midi.Text(symbol, time) for time, symbol in chord_symbols)
    sections = [(feel.seconds(b * timeline.steps_per_bar), f.section_name) for b, f in enumerate(form.bars)
                if f.section_start or b == 0 or f.section == -1]
    return Arrangement(
        midi=midi, style=style, mood=mood, tempo=tempo, key=key, meter=piece.meter,
        duration_seconds=duration, parts={role: band[role].name for role in roles}, chord_symbols=chord_symbols,
        bar_times=[feel.seconds(s) for s in bar_steps], swing=swing, intro_bars=intro_bars,
        title=plan.title, sections=sections,
    )


@lru_cache(maxsize=1)
def _levels() -> dict:
    """Calibrated track volumes {style: {mood: {role: cc7}}}; empty (the MIX defaults) when not calibrated."""
    return json.loads(LEVELS_PATH.read_text()) if LEVELS_PATH.is_file() else {}


def _instrument(role: str, instrument: Instrument, notes: list[pretty_midi.Note], shape: MoodShape,
                style: str, mood: str) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=instrument.program, is_drum=instrument.is_drum, name=role)
    inst.notes = sorted(notes, key=lambda n: (n.start, n.pitch))
    volume, pan = MIX.get(role, CHORD_MIX)
    volume = _levels().get(style, {}).get(mood, {}).get(role, volume)
    reverb = min(127, round(shape.reverb * STYLE_SPECS[style].reverb_scale))
    chorus = {"Bass": 0, "Drums": 0, "Melody": shape.chorus // 2}.get(role, shape.chorus)  # chorus muddies lows and hits
    for number, value in ((7, volume), (10, pan), (91, reverb), (93, chorus)):
        inst.control_changes.append(pretty_midi.ControlChange(number, value, 0.0))
    return inst


__all__ = ["Arrangement", "arrange"]
