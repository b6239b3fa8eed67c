"""The learned patterns shipped in `patterns.json` (made by `learn.py`), with typed accessors."""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence, TypeVar

from engine.music import STEPS_PER_BEAT

PATTERNS_PATH = Path(__file__).with_name("patterns.json")
T = TypeVar("T")


@lru_cache(maxsize=1)
def load_patterns() -> dict[str, Any]:
    try:
        return json.loads(PATTERNS_PATH.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"{PATTERNS_PATH} is missing: reinstall Tunesmith, or rebuild it with `tunesmith arrange learn`.") from None


def weighted_choice(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(list(items), weights=list(weights), k=1)[0]


def drum_patterns(style: str) -> list[dict]:
    """One-bar grooves: {"weight", "hits": [[step, gm_pitch, velocity, offset_beats], ...]}."""
    return load_patterns()["drums"][style]["patterns"]


def drum_fills(style: str) -> list[list]:
    """The last two beats of learned fills: [[step, gm_pitch, velocity, offset_beats], ...] each; may be empty."""
    return load_patterns()["fills"].get(style, {}).get("fills", [])


def comp_patterns(style: str) -> list[dict]:
    """Comping rhythms: {"weight", "length" (steps), "events": [[kind, step, duration, velocity, interval], ...]}."""
    return load_patterns()["comping"][style]["patterns"]


def bass_patterns(style: str) -> list[dict]:
    """Bass rules (Impro-Visor kinds B root, C chord tone, S scale tone, A approach, X degree, = repeat)."""
    return load_patterns()["bass"][style]["patterns"]


@lru_cache(maxsize=4)
def walking_phrases(feel: str) -> tuple[dict, ...]:
    """Walking-bass phrases; the four-feel ones are kept to one note on each beat."""
    phrases = load_patterns()["walking_bass"][feel]
    if feel == "4feel":
        phrases = [p for p in phrases if [s for s, _ in p["notes"]] == list(range(0, p["beats"] * STEPS_PER_BEAT, STEPS_PER_BEAT))]
    return tuple(phrases)


def pattern_source(kind: str, style: str) -> str | None:
    entry = load_patterns().get(kind, {}).get(style)
    return entry["source"] if entry else None


PERFORMANCE_PATH = Path(__file__).with_name("performance.json")


@lru_cache(maxsize=1)
def load_performance() -> dict[str, Any]:
    """How players perform, learned by learn_performance.py: drum timing/velocity tables, the lead's loudness model."""
    try:
        return json.loads(PERFORMANCE_PATH.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"{PERFORMANCE_PATH} is missing: reinstall Tunesmith, or rebuild it with `tunesmith arrange learn`.") from None


def drum_feel(style: str, drum: int, position_in_beat: int) -> tuple[float, float, float, float] | None:
    """(offset mean, offset sd) in beats and (velocity mean, velocity sd) of a drum at a 16th of the beat (0..3);
    None where the drummers played it too rarely to say."""
    cell = load_performance()["drums"].get(style, {}).get(str(drum), {}).get(str(position_in_beat))
    return tuple(cell[:4]) if cell else None


def ghost_snare_velocity(style: str) -> float | None:
    """Median velocity of the style's drummers' ghost strokes on the snare (off 16ths, velocity 12-63)."""
    return load_performance()["drums"].get(style, {}).get("ghost_snare_velocity")


def lead_model() -> dict[str, Any]:
    """The lead line's loudness model (z-units within a solo) and articulation quartiles; see learn_performance.py."""
    return load_performance()["lead"]


def melody_velocity_spread() -> float:
    """Within-piece standard deviation of performed melody velocities (MIDI units)."""
    return float(load_performance()["melody_velocity"]["within_piece_sd"])
