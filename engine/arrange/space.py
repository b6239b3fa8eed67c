"""Where the melody leaves room: busy bars the backing thins under, rests of two beats or more it fills.

Steps are arrangement grid steps (the intro included), as in parts.Timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.music import STEPS_PER_BEAT, Note

BUSY_ONSETS_PER_BEAT = 1.5  # a bar with more melody onsets than this per beat is busy: comping thins under it
REST_BEATS = 2  # a melody rest this long gets a pickup from the band


@dataclass(frozen=True)
class MelodySpace:
    onsets_per_bar: dict[int, int]  # arrangement bar -> melody onsets in it
    rests: tuple[tuple[int, int], ...]  # (first silent step, step the melody comes back) for rests of REST_BEATS+
    steps_per_bar: int
    onsets: frozenset[int] = frozenset()  # steps where a melody note starts

    @classmethod
    def of(cls, melody: list[Note], intro_steps: int, body_steps: int, steps_per_bar: int) -> "MelodySpace":
        counts: dict[int, int] = {}
        for n in melody:
            bar = (n.start + intro_steps) // steps_per_bar
            counts[bar] = counts.get(bar, 0) + 1
        rests, sounding_until = [], None
        for n in sorted(melody, key=lambda n: n.start):
            start = n.start + intro_steps
            if sounding_until is not None and start - sounding_until >= REST_BEATS * STEPS_PER_BEAT:
                rests.append((sounding_until, start))
            sounding_until = max(sounding_until or 0, start + n.duration)
        return cls(counts, tuple(rests), steps_per_bar, frozenset(n.start + intro_steps for n in melody))

    def busy(self, bar: int) -> bool:
        beats = self.steps_per_bar / STEPS_PER_BEAT
        return self.onsets_per_bar.get(bar, 0) > BUSY_ONSETS_PER_BEAT * beats

    def resting(self, step: float) -> bool:
        return any(a <= step < b for a, b in self.rests)


__all__ = ["MelodySpace"]
