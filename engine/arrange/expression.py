"""How the lead plays its line: velocity shaped by the phrase, the contour and the meter (the loudness model
learned from the Weimar Jazz Database's solos, scaled to POP909's spread of melody velocities), the
articulation by mood (legato when calm, detached when energetic, between the quartiles players use), and
a breath before each new phrase.

Steps are arrangement grid steps; velocities MIDI units.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

from engine.arrange.patterns import lead_model, melody_velocity_spread
from engine.music import STEPS_PER_BEAT

PERFORMED_SD = 3.0  # a melody whose velocities spread this much already carries a player's dynamics: kept
BREATH_STEPS = STEPS_PER_BEAT // 2  # the last note before a new phrase ends an eighth early
CONNECTED_GAP = STEPS_PER_BEAT  # a next note within a beat of this one's end belongs to the same gesture


def metric_position(step: float, steps_per_bar: int) -> str:
    """The WJD model's metrical classes: downbeat, middle (beat 3 of 4/4), backbeat (other beats), offbeat."""
    in_bar = step % steps_per_bar
    if in_bar % STEPS_PER_BEAT:
        return "offbeat"
    if in_bar == 0:
        return "downbeat"
    return "middle" if steps_per_bar % 8 == 0 and in_bar == steps_per_bar // 2 else "backbeat"


def _phrases(hits: list, phrase_starts: list[int]) -> list[list[int]]:
    """Indices of the (start-sorted) hits grouped by the phrase each starts in."""
    groups: list[list[int]] = [[] for _ in phrase_starts]
    for i, h in enumerate(hits):
        k = max((j for j, s in enumerate(phrase_starts) if s <= h.start), default=0)
        groups[k].append(i)
    return [g for g in groups if g]


def shape_velocities(hits: list, phrase_starts: list[int], level, steps_per_bar: int, rng: random.Random) -> list:
    """Each note at `level(step)` plus the learned deviation: the phrase's arc, its height above the phrase's
    mean pitch, its metrical accent, and a drifting remainder as large as the model leaves unexplained.
    A melody that arrives with its own dynamics keeps them around the level instead."""
    hits = sorted(hits, key=lambda h: h.start)
    if len(hits) < 2:
        return hits
    model = lead_model()
    spread = melody_velocity_spread()
    written = [h.velocity for h in hits]
    mean_written = sum(written) / len(written)
    if math.sqrt(sum((v - mean_written) ** 2 for v in written) / len(written)) >= PERFORMED_SD:
        return [replace(h, velocity=_clip(level(h.start) + h.velocity - mean_written)) for h in hits]
    arc, bins = model["phrase_arc"], len(model["phrase_arc"])
    remainder_sd = math.sqrt(max(0.0, 1 - model["explained_share"]))
    drift = model["residual_lag1"]
    out = list(hits)
    for group in _phrases(hits, phrase_starts):
        mean_pitch = sum(hits[i].pitch for i in group) / len(group)
        remainder = rng.gauss(0.0, remainder_sd)
        for k, i in enumerate(group):
            h = hits[i]
            position = k / (len(group) - 1) if len(group) > 1 else 0.0
            z = (arc[min(bins - 1, int(position * bins))] + model["per_semitone"] * (h.pitch - mean_pitch)
                 + model["metric_accent"][metric_position(h.start, steps_per_bar)] + remainder)
            out[i] = replace(h, velocity=_clip(level(h.start) + spread * z))
            remainder = drift * remainder + math.sqrt(1 - drift * drift) * rng.gauss(0.0, remainder_sd)
    return out


def articulation_ratio(arousal: float) -> float:
    """Sounding share of the time to the next note: legato (1.0) when calm, the players' upper quartile at
    rest, their median when lively, their lower quartile (detached) when energetic."""
    q25, q50, q75 = lead_model()["articulation_quartiles"]
    points = [(-1.0, 1.0), (-0.3, q75), (0.4, q50), (0.9, q25), (1.0, q25)]
    for (a0, r0), (a1, r1) in zip(points, points[1:]):
        if arousal <= a1:
            return r0 + (r1 - r0) * (max(arousal, a0) - a0) / (a1 - a0)
    return q25


def articulate(hits: list, arousal: float) -> list:
    """Connected notes sound for the mood's share of the time to the next one (legato may lengthen them)."""
    ratio = articulation_ratio(arousal)
    hits = sorted(hits, key=lambda h: h.start)
    out = []
    for h, nxt in zip(hits, hits[1:] + [None]):
        if nxt is not None and nxt.start - (h.start + h.duration) <= CONNECTED_GAP and nxt.start > h.start:
            h = replace(h, duration=max(0.5, ratio * (nxt.start - h.start)))
        out.append(h)
    return out


def breathe(hits: list, phrase_starts: list[int]) -> list:
    """The last note before each new phrase is cut an eighth short of it (at most to half its length)."""
    hits = sorted(hits, key=lambda h: h.start)
    out = list(hits)
    for boundary in phrase_starts[1:]:
        before = [i for i, h in enumerate(hits) if h.start < boundary]
        if not before:
            continue
        i = before[-1]
        h = out[i]
        latest_end = boundary - BREATH_STEPS
        if h.start + h.duration > latest_end:
            out[i] = replace(h, duration=max(h.duration / 2, latest_end - h.start, 0.5))
    return out


def _clip(velocity: float) -> int:
    return max(1, min(127, round(velocity)))


__all__ = ["articulate", "articulation_ratio", "breathe", "metric_position", "shape_velocities"]
