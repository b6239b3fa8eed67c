"""How a mood shapes an arrangement, derived from its valence and arousal (engine.labels.MOODS)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.arrange.styles import STYLE_SPECS
from engine.labels import MOODS


@dataclass(frozen=True)
class MoodShape:
    tempo_position: float  # where in the style's tempo range the mood sits, 0..1
    velocity_scale: float  # multiplies every part's velocity
    register_shift: int  # semitones for chord voicings: brighter moods sit higher
    density: float  # 0 sparse (two-feel, half-time, held chords) .. 1 busy
    reverb: int  # MIDI CC91 send, 0..127, before the style's own reverb_scale
    chorus: int  # MIDI CC93 send, 0..127, for chord instruments and pads (the lead gets half, bass and drums none)
    timing_spread: float  # multiplies the style's humanising spread
    arousal: float  # -1 calm .. 1 excited: the lead's articulation (legato .. detached)
    brightness: float  # -1 dark and low-key .. 1 bright and lively: where the lead's octave sits


def mood_shape(mood: str) -> MoodShape:
    m = MOODS[mood]
    calmness = (1 - m.arousal) / 2  # 0 excited .. 1 calm
    return MoodShape(
        tempo_position=(m.arousal + 1) / 2,
        velocity_scale=0.8 + 0.2 * m.arousal,
        register_shift=round(3 * m.valence),
        density=(m.arousal + 1) / 2,
        reverb=round(30 + 40 * calmness),
        chorus=round(30 * calmness),
        timing_spread=1.0 + 0.5 * calmness,
        arousal=m.arousal,
        brightness=(m.valence + m.arousal) / 2,
    )


def suggested_tempo(style: str, mood: str) -> float:
    """A tempo for the style in the mood, for a piece whose tempo nobody chose."""
    lo, hi = STYLE_SPECS[style].tempo_range
    return round(lo + mood_shape(mood).tempo_position * (hi - lo))
