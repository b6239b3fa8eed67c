"""make_plan: a request (and the model's styles) in, the one MusicalPlan every stage reads out.

Everything the request leaves open is decided here and nowhere else: prompt words first, then choices
drawn from the seed (style, mood, mode and key), the style's and mood's tempo, the form and its chords.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import replace

from engine.music import Key, Meter
from engine.plan.forms import choose_form
from engine.plan.plan import MusicalPlan, Section
from engine.plan.seeds import derive_seed, pick
from engine.prompt import read_prompt
from engine.request import MAX_BARS, MAX_TEMPO, MIN_BARS, MIN_TEMPO, ComposeRequest
from engine.labels import MOODS, STYLE_DERIVATION, STYLES

# Default tempo per style (bpm) and a factor per mood: the tempo when neither the request nor its prompt gives one.
STYLE_TEMPO: dict[str, int] = {
    "jazz": 132, "blues": 92, "latin": 118, "pop": 108, "rock": 124, "folk": 112, "celtic": 118,
    "classical": 96, "game": 132, "lofi": 78, "ambient": 66,
}
MOOD_TEMPO_FACTOR: dict[str, float] = {"happy": 1.05, "energetic": 1.25, "calm": 0.8, "dreamy": 0.85, "sad": 0.8, "dark": 1.0}
# How often a mood is in a minor key when the request names no key.
MOOD_MINOR_RATE: dict[str, float] = {"happy": 0.05, "energetic": 0.3, "calm": 0.15, "dreamy": 0.35, "sad": 0.85, "dark": 0.9}
# Keys chosen when the request names none: comfortable for singers and the arranger's instruments.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "major": ("C", "F", "G", "D", "Bb", "Eb", "A"),
    "minor": ("Am", "Dm", "Em", "Gm", "Cm", "Bm", "F#m"),
}
ENERGY_PER_AROUSAL = 0.2  # how far a mood's arousal (-1..1) moves every section's energy


def default_tempo(style: str, mood: str, factor: float = 1.0) -> int:
    bpm = STYLE_TEMPO[style] * MOOD_TEMPO_FACTOR[mood] * factor
    return int(round(min(MAX_TEMPO, max(MIN_TEMPO, bpm))))


def make_plan(request: ComposeRequest, styles: tuple[str, ...] | list[str] = STYLES) -> MusicalPlan:
    """The plan for a request; a style is drawn among `styles` when neither the request nor its prompt
    names one. Raises EngineInputError (naming the allowed values) for unknown names or out-of-range numbers.
    The same request with the same seed always gives the same plan."""
    request = request.validated()
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    reading = read_prompt(request.prompt)
    style = request.style or reading.style or styles[pick(seed, "style", len(styles))]
    mood = MOODS[request.mood or reading.mood or list(MOODS)[pick(seed, "mood", len(MOODS))]]
    tempo = request.tempo or reading.tempo or default_tempo(style, mood.name, reading.tempo_factor)
    tempo = int(min(MAX_TEMPO, max(MIN_TEMPO, tempo)))
    if request.key is not None:
        key = Key.parse(request.key)
    else:
        mode = "minor" if pick(seed, "mode", 10_000) < 10_000 * MOOD_MINOR_RATE[mood.name] else "major"
        key = Key.parse(DEFAULT_KEYS[mode][pick(seed, "key", len(DEFAULT_KEYS[mode]))])
    meter = Meter(4, 4)  # the model writes 4/4 only; 3/4 and 6/8 wait for a model trained on them
    unmet = () if reading.meter_asked is None else (
        f"You asked for {reading.meter_asked}. Tunesmith writes in 4/4 only for now, so this piece is in 4/4.",)
    form = choose_form(style, key.mode, request.bars, random.Random(derive_seed(seed, "form", style, key.mode, request.bars)),
                       meter.beats_per_bar)
    sections = _orchestrated(form.sections, style, mood.name)
    return MusicalPlan(
        style=style, style_model=STYLE_DERIVATION.get(style, style), mood=mood, key=key, tempo=tempo, meter=meter,
        bars=request.bars, seed=seed, form=form.name, sections=sections, harmony=form.harmony, chord_ties=form.chord_ties,
        sampler=request.sampler, temperature=request.temperature, prompt=request.prompt, unmet=unmet,
    )


def resolve_request(request: ComposeRequest, styles: tuple[str, ...] | list[str] = STYLES) -> ComposeRequest:
    """The request with every open choice filled, as the plan decides it."""
    return make_plan(request, styles).request


def _orchestrated(sections: tuple[Section, ...], style: str, mood: str) -> tuple[Section, ...]:
    """Sections with the mood's energy and the roles that play in each: a quiet section leaves the pad
    out when another instrument holds the chords, so the fuller sections have somewhere to build to."""
    from engine.arrange.styles import instruments_for  # the band is the arranger's table; imported late (no cycle)

    band = tuple(instruments_for(style, mood))
    arousal = MOODS[mood].arousal
    out = []
    for section in sections:
        energy = min(1.0, max(0.1, section.energy + ENERGY_PER_AROUSAL * arousal))
        roles = band
        chordal = [r for r in band if r not in ("Melody", "Bass", "Drums", "Pad")]
        if len(sections) > 1 and energy < 0.5 and "Pad" in band and chordal:
            roles = tuple(r for r in band if r != "Pad")
        out.append(replace(section, energy=round(energy, 3), roles=roles))
    return tuple(out)


__all__ = ["DEFAULT_KEYS", "MOOD_MINOR_RATE", "MOOD_TEMPO_FACTOR", "STYLE_TEMPO", "default_tempo", "make_plan", "plan_for_piece", "resolve_request"]


def plan_for_piece(piece_bars: int, key: Key, tempo: float, style: str, mood: str, seed: int = 0) -> MusicalPlan:
    """A plan for music that already exists (an upload, a corpus piece, a calibration phrase): its key,
    tempo and length with the style's form and the mood's energy. The arranger plays the piece's own
    notes and chords; the plan gives it the sections, energy and band."""
    bars = min(MAX_BARS, max(MIN_BARS, piece_bars))
    tempo_bpm = int(round(min(MAX_TEMPO, max(MIN_TEMPO, tempo))))
    return make_plan(ComposeRequest(style=style, mood=mood, key=key.name, tempo=tempo_bpm, bars=bars, seed=seed))
