"""What a data set says about a piece besides its notes: the labels a reader attaches to each `Piece`.

A `Piece` (engine/music.py) is only the music; a generated piece's style and mood live in its
`MusicalPlan` and `Composition`. The readers in engine/data/readers/ return `LabelledPiece`s, and the
corpus build (engine/data/build.py), the mood calibration and the form reference read the labels here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from engine.music import Piece
from engine.labels import nearest_mood


@dataclass(frozen=True)
class Labels:
    """A source's labels for one piece; None where the source says nothing.

    `style` is a style name (engine.labels.STYLES, though a reader may give a name outside them, which the
    build replaces by the source's default style). `valence` (unpleasant -1 .. pleasant +1) and `arousal`
    (calm -1 .. excited +1) are points on the mood plane of engine.labels.MOODS, each in [-1, 1]; `mood` is
    the name of one of those moods.
    """

    style: str | None = None
    mood: str | None = None
    valence: float | None = None
    arousal: float | None = None

    @classmethod
    def of_mood(cls, valence: float, arousal: float, style: str | None = None) -> Labels:
        """Labels with a valence and arousal (each in [-1, 1]) and the named mood nearest them."""
        return cls(style=style, mood=nearest_mood(valence, arousal), valence=valence, arousal=arousal)

    @property
    def has_mood(self) -> bool:
        """Whether the source labels both valence and arousal."""
        return self.valence is not None and self.arousal is not None


class LabelledPiece(NamedTuple):
    """A piece read from a data set and that data set's labels for it; unpacks as `piece, labels`."""

    piece: Piece
    labels: Labels = Labels()
