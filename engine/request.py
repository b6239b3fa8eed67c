"""What a caller asks the engine for, validated: the one request type shared by the CLI, the service and the cogs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.errors import EngineError
from engine.music import Key
from engine.labels import MOODS, STYLES, normalise_mood, normalise_style

MIN_BARS, MAX_BARS = 4, 32
MIN_TEMPO, MAX_TEMPO = 40, 240
SAMPLERS = ("gan", "prior")


class EngineInputError(EngineError, ValueError):
    """A request the engine cannot honour because of what the user asked; the message is shown to them."""


@dataclass(frozen=True)
class ComposeRequest:
    style: str | None = None
    mood: str | None = None
    key: str | None = None  # e.g. "Eb", "F#m"; None lets the engine choose
    tempo: int | None = None  # bpm; None lets the style and mood choose
    bars: int = 8
    seed: int | None = None  # None: the engine draws one and reports it
    temperature: float = 1.0
    sampler: str = "gan"
    prompt: str | None = None
    taste: str | None = None  # a server's taste model file (engine.taste) that steers the theme; None: the shared model as it is

    def validated(self) -> "ComposeRequest":
        """The request with names made canonical; raises EngineInputError naming the allowed values."""
        try:
            style = normalise_style(self.style) if self.style else None
            mood = normalise_mood(self.mood) if self.mood else None
        except ValueError as exc:
            raise EngineInputError(str(exc)) from None
        if self.key is not None:
            try:
                Key.parse(self.key)
            except ValueError as exc:
                raise EngineInputError(str(exc)) from None
        if not MIN_BARS <= self.bars <= MAX_BARS:
            raise EngineInputError(f"Bars must be between {MIN_BARS} and {MAX_BARS}, not {self.bars}.")
        if self.tempo is not None and not MIN_TEMPO <= self.tempo <= MAX_TEMPO:
            raise EngineInputError(f"Tempo must be between {MIN_TEMPO} and {MAX_TEMPO} bpm, not {self.tempo}.")
        if self.sampler not in SAMPLERS:
            raise EngineInputError(f"Unknown model {self.sampler!r}. Choose one of: {', '.join(SAMPLERS)}.")
        if not 0.1 <= self.temperature <= 2.0:
            raise EngineInputError(f"Temperature must be between 0.1 and 2.0, not {self.temperature}.")
        if self.seed is not None and not 0 <= self.seed < 2**31:
            raise EngineInputError(f"Seed must be between 0 and {2**31 - 1}.")
        return replace(self, style=style, mood=mood)


__all__ = ["ComposeRequest", "EngineInputError", "MIN_BARS", "MAX_BARS", "MIN_TEMPO", "MAX_TEMPO", "SAMPLERS", "STYLES", "MOODS"]
