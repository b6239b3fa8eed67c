"""The styles and moods Tunesmith offers, and where each mood sits on valence and arousal.

This is the one vocabulary shared by the corpus, the models, the arranger and the commands.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

# Styles with training data of their own come first; the last ones are made from another style's
# material with their own arrangement (see STYLE_DERIVATION).
STYLES: tuple[str, ...] = (
    "jazz",
    "blues",
    "latin",
    "pop",
    "rock",
    "folk",
    "celtic",
    "classical",
    "game",
    "lofi",
    "ambient",
)

# Styles without enough data of their own: the corpus style whose material the model draws on.
STYLE_DERIVATION: dict[str, str] = {
    "lofi": "jazz",  # jazz harmony with a lofi arrangement (soft keys, dusty drums, slow swing)
    "ambient": "classical",  # slow classical/chorale material with pads and no drums
}

# Synonyms users type for a style.
STYLE_ALIASES: dict[str, str] = {
    "bossa": "latin",
    "bossa nova": "latin",
    "samba": "latin",
    "swing": "jazz",
    "bebop": "jazz",
    "irish": "celtic",
    "scottish": "celtic",
    "videogame": "game",
    "video game": "game",
    "chiptune": "game",
    "lo-fi": "lofi",
    "chill": "lofi",
    "baroque": "classical",
}


@dataclass(frozen=True)
class Mood:
    """A mood and its place on the circumplex: valence (unpleasant..pleasant) and arousal (calm..excited), both in [-1, 1]."""

    name: str
    valence: float
    arousal: float


MOODS: dict[str, Mood] = {
    m.name: m
    for m in (
        Mood("happy", 0.8, 0.5),
        Mood("energetic", 0.5, 0.9),
        Mood("calm", 0.5, -0.7),
        Mood("dreamy", 0.4, -0.3),
        Mood("sad", -0.7, -0.5),
        Mood("dark", -0.6, 0.6),
    )
}

MOOD_ALIASES: dict[str, str] = {
    "romantic": "dreamy",
    "tense": "dark",
    "angry": "dark",
    "melancholic": "sad",
    "relaxed": "calm",
    "peaceful": "calm",
    "joyful": "happy",
    "upbeat": "energetic",
}


def nearest_mood(valence: float, arousal: float) -> str:
    """The named mood closest to a point on the valence/arousal plane."""
    return min(MOODS.values(), key=lambda m: (m.valence - valence) ** 2 + (m.arousal - arousal) ** 2).name


def _canonical(name: str, what: str, aliases: Mapping[str, str], allowed: Collection[str]) -> str:
    key = name.strip().lower()
    key = aliases.get(key, key)
    if key not in allowed:
        raise ValueError(f"Unknown {what} {name!r}. Choose one of: {', '.join(allowed)}.")
    return key


def normalise_style(name: str) -> str:
    """Canonical style name for user input; raises ValueError naming the allowed values."""
    return _canonical(name, "style", STYLE_ALIASES, STYLES)


def normalise_mood(name: str) -> str:
    """Canonical mood name for user input; raises ValueError naming the allowed values."""
    return _canonical(name, "mood", MOOD_ALIASES, MOODS)
