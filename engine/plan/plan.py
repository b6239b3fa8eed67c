"""The musical plan: everything a piece will be, decided once from the request, before any note is written.

Times are bars (0-based, from the start of the piece, intro excluded: the arranger adds its own intro and
ending around the plan's bars). Harmony is one chord token per beat in the model's vocabulary
(engine.tokens), relative to the tonic C, as the model writes it; `chords()` gives it in the real key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.music import Chord, Key, Meter
from engine.request import ComposeRequest
from engine.tokens import decode_harmony
from engine.labels import Mood


@dataclass(frozen=True)
class Phrase:
    """A span of bars with one melodic idea.

    `material` names the idea: phrases with the same letter are the same music. A phrase whose `source`
    is the index of an earlier phrase (in MusicalPlan.phrases) copies that phrase's notes, except the
    bars listed in `varied_bars` (relative to the phrase's first bar), which are written afresh over this
    phrase's own chords: that is how A' and a cadence differ from A; a varied bar also in `rhythm_bars`
    keeps the source bar's rhythm with new pitches (a sequence). `cadence` is what the last bar does:
    "half" (ends on the dominant), "authentic" (dominant to tonic), "plagal", or "open" (a loop goes on).
    """

    material: str
    start_bar: int
    bars: int
    source: int | None = None
    varied_bars: tuple[int, ...] = ()
    cadence: str = "authentic"
    rhythm_bars: tuple[int, ...] = ()  # varied bars that keep the source bar's rhythm under new pitches

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars

    @property
    def label(self) -> str:
        """"A" for new material, "A'" for a varied return, "A" again for an exact return."""
        return self.material + ("'" if self.source is not None and self.varied_bars else "")


@dataclass(frozen=True)
class Section:
    """A part of the form ("verse", "chorus", "A", "head", "bridge", ...) and how the band plays it.

    `energy` in [0, 1] drives the arrangement's dynamics and density (0 hushed, 1 everything at full);
    `roles` are the arranger's roles that play in this section (a verse may drop the pad, a break the
    drums); an empty tuple means the style's whole band.
    """

    name: str
    start_bar: int
    bars: int
    phrases: tuple[Phrase, ...]
    energy: float = 0.6
    roles: tuple[str, ...] = ()

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars


@dataclass(frozen=True)
class MusicalPlan:
    """One piece's resolved intent: what the model is conditioned on, what post-processing enforces, what
    the arranger and renderer play, and what the track's title and record say. Built by
    engine.plan.make_plan; every stage reads it and none re-derives a default.

    tempo is in beats per minute; bars counts the plan's bars (the arranger's intro and ending come on
    top); `harmony` holds bars * beats-per-bar chord tokens (C-relative; -1 where the model chooses the
    chord: engine.plan.forms.PLANNED_THROUGHOUT says where the plan decides every beat), `style_model` the style whose
    data the model draws on (lofi is written from jazz material, ambient from classical).
    """

    style: str
    style_model: str
    mood: Mood
    key: Key
    tempo: int
    meter: Meter
    bars: int
    seed: int
    form: str  # the form's name, e.g. "AABA", "12-bar blues", "verse-chorus", "period"
    sections: tuple[Section, ...]
    harmony: tuple[int, ...]
    sampler: str = "gan"
    temperature: float = 1.0
    prompt: str | None = None
    # Per beat of `harmony` left to the model (-1 there): the earlier beat whose chord, as sampled or planned, it
    # repeats (-1: none); how a varied return keeps its source's chords. Empty: no ties.
    chord_ties: tuple[int, ...] = ()
    # What the request asked for that this plan cannot give, in words for the user (told with the track).
    unmet: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[Phrase, ...]:
        return tuple(p for s in self.sections for p in s.phrases)

    @property
    def beats_per_bar(self) -> int:
        return self.meter.beats_per_bar

    @property
    def title(self) -> str:
        return f"{self.mood.name.capitalize()} {self.style} in {self.key.name}"

    def section_at(self, bar: int) -> Section:
        for section in self.sections:
            if section.start_bar <= bar < section.end_bar:
                return section
        return self.sections[-1]

    def chords(self) -> list[Chord]:
        """The planned harmony in the real key: one Chord per run of equal beats, times in grid steps; beats
        the plan leaves to the model (-1) are left out."""
        shift = self.key.tonic if self.key.tonic <= 6 else self.key.tonic - 12
        return [c for c in decode_harmony(np.asarray(self.harmony), shift) if not c.is_rest]

    def chord_names(self) -> list[str]:
        """Chord symbols per change, spelled in the key (F# major has C#m, not Dbm)."""
        return [c.symbol(self.key) for c in self.chords()]

    @property
    def request(self) -> ComposeRequest:
        """The request every choice of this plan answers: replaying it makes the same plan (Regenerate)."""
        return ComposeRequest(style=self.style, mood=self.mood.name, key=self.key.name, tempo=self.tempo, bars=self.bars,
                              seed=self.seed, temperature=self.temperature, sampler=self.sampler, prompt=self.prompt)

__all__ = ["MusicalPlan", "Phrase", "Section"]
