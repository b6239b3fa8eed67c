"""From grid steps to a performance: swing, micro-timing, humanised timing and velocity, a closing ritardando."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pretty_midi

from engine.arrange.parts import Hit
from engine.music import STEPS_PER_BEAT


@dataclass(frozen=True)
class Feel:
    tempo: float
    swing: float  # where the off-beat eighth falls within the beat: 0.5 straight, 2/3 triplet swing
    spread_seconds: float  # standard deviation of a player's timing
    ritardando_from: float  # grid step where the closing slow-down starts
    ritardando_steps: float  # over how many steps the tempo eases to 80 %

    def seconds(self, step: float) -> float:
        """Performance time of a grid position: swung, then slowed at the end."""
        beats = step / STEPS_PER_BEAT
        if self.swing > 0.5:
            whole = math.floor(beats)
            frac = beats - whole
            if frac < 0.5:
                frac = frac * self.swing / 0.5
            else:
                frac = self.swing + (frac - 0.5) * (1 - self.swing) / 0.5
            beats = whole + frac
        t = beats * 60.0 / self.tempo
        start = self.ritardando_from / STEPS_PER_BEAT * 60.0 / self.tempo
        if t > start:  # tempo eases linearly to 0.8x across the ritardando, then stays there
            span = self.ritardando_steps / STEPS_PER_BEAT * 60.0 / self.tempo
            x = t - start
            stretch = 0.25 / span
            t = start + (x + stretch * x * x / 2 if x < span else span + stretch * span * span / 2 + (x - span) * 1.25)
        return t


def perform(hits: list[Hit], feel: Feel, rng: random.Random, timing_scale: float = 1.0) -> list[pretty_midi.Note]:
    """Hits to timed notes: each onset swung, nudged by its learned offset and a player's small errors."""
    notes = []
    style_spread = feel.spread_seconds * timing_scale
    for h in hits:
        start = feel.seconds(h.start + h.offset)
        end = feel.seconds(h.start + h.offset + h.duration)
        # A learned spread (drums: how the drummers' timing varied for that drum at that 16th) replaces the
        # style's; the spread is halved for the deviation from each hit's own mean, already in its offset.
        spread = style_spread if h.spread is None or feel.spread_seconds == 0 else 0.5 * h.spread * 60.0 / feel.tempo / STEPS_PER_BEAT
        if spread > 0:
            start += max(-2 * spread, min(2 * spread, rng.gauss(0.0, spread)))
        start = max(0.0, start)
        velocity = max(1, min(127, h.velocity + rng.randint(-4, 4)))
        notes.append(pretty_midi.Note(velocity=velocity, pitch=int(h.pitch), start=start, end=max(start + 0.03, end)))
    return notes
