"""Arrangement: a piece becomes a band's performance in a style and mood (engine.arrange.arrange).

Patterns are learned from the training data by `tunesmith arrange learn` into `patterns.json`;
see docs/ARRANGEMENT.md for what each style plays and where its patterns come from.
"""

from engine.arrange.arranger import Arrangement, arrange
from engine.arrange.mood import MoodShape, mood_shape, suggested_tempo
from engine.arrange.styles import STYLE_INSTRUMENTS, STYLE_SPECS, instruments_for

__all__ = ["Arrangement", "arrange", "STYLE_INSTRUMENTS", "STYLE_SPECS", "instruments_for", "MoodShape", "mood_shape", "suggested_tempo"]
