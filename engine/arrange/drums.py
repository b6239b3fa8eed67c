"""The drummer: learned grooves that follow the form (a groove per section chosen by its energy, a bar
a drummer really played on that groove for each bar, ghost notes and open hats by energy), a full fill at
section ends, a lighter one at other phrase ends, a crash on each section's downbeat.

Times are grid steps; velocities before the mood's scale (Context.velocity applies it).
"""

from __future__ import annotations

import math

from engine.arrange.parts import CRASH, KICK, SNARE, Context, Hit
from engine.arrange.patterns import drum_feel, drum_fills, drum_patterns, ghost_snare_velocity, weighted_choice
from engine.music import STEPS_PER_BEAT

CLOSED_HAT, OPEN_HAT = 42, 46
FILL_STROKES = {37, 38, 41, 43, 45, 47, 48, 50}  # snares and toms
LIGHT_FILL_FROM = 12  # a lighter fill keeps to the last beat of the bar (4/4)
GHOST_ENERGY = 0.45  # ghost notes appear above this section energy
OPEN_HAT_ENERGY = 0.6  # an open hat on the last off-beat above this energy
ACCENT = 104  # velocity of a bar's accents before the mood and the section's energy


def _groove_for(ctx: Context, patterns: list[dict], energy: float) -> dict:
    """A groove for a section: busier skeletons for more energetic sections, weighted by how often drummers played them."""
    ranked = sorted(patterns, key=lambda p: (len(p["hits"]), p["weight"]))
    n = len(ranked)
    weights = [p["weight"] * math.exp(-((i / max(1, n - 1)) - energy) ** 2 / 0.08) for i, p in enumerate(ranked)]
    return weighted_choice(ctx.rng, ranked, weights)


def _bar_as_played(ctx: Context, groove: dict, keep_home: bool) -> list[list]:
    """One of the bars drummers played on this groove; the most common one when `keep_home` (a phrase's first bar).
    A groove whose every recorded bar held a fill plays its skeleton."""
    variants = groove["variants"] or [groove]
    if keep_home:
        return variants[0]["hits"]
    return weighted_choice(ctx.rng, variants, [math.sqrt(v["weight"]) for v in variants])["hits"]


def _at_accent_level(hits: list[list]) -> list[list]:
    """The bar's velocities scaled so its three loudest strokes average ACCENT: grooves recorded at different
    levels then sit at one level, which the section's energy moves; each bar's own dynamics are kept."""
    loudest = sorted((h[2] for h in hits), reverse=True)[:3]
    if not loudest:
        return hits
    scale = ACCENT / (sum(loudest) / len(loudest))
    return [[h[0], h[1], h[2] * scale, h[3]] for h in hits]


def _learned_spread(style: str, pitch: int, step: int) -> float | None:
    feel = drum_feel(style, pitch, step % STEPS_PER_BEAT)
    return feel[1] * STEPS_PER_BEAT if feel else None


def _ghost_velocity(style: str) -> int:
    """How the style's drummers played their ghost strokes on the snare (learned), 24 where none were recorded."""
    learned = ghost_snare_velocity(style)
    return round(learned) if learned else 24


def _decorated(ctx: Context, style: str, hits: list[list], energy: float, bar: int) -> list[list]:
    """Ghost snares on empty 16ths and an open hat on the last off-beat, more of them in more energetic bars;
    a calm bar keeps to the eighths."""
    out = [list(h) for h in hits if h[0] < bar]
    if energy < 0.3 or ctx.shape.density < 0.3:
        return [h for h in out if h[0] % 2 == 0]
    taken = {h[0] for h in out if h[1] in (SNARE, 37)}
    if energy > GHOST_ENERGY and style != "jazz":
        for step in range(1, bar, 2):
            if step not in taken and ctx.rng.random() < 0.25 * (energy - GHOST_ENERGY) / (1 - GHOST_ENERGY):
                out.append([step, SNARE, _ghost_velocity(style), 0.0])
    last_offbeat = bar - STEPS_PER_BEAT // 2
    if energy > OPEN_HAT_ENERGY and ctx.rng.random() < energy - OPEN_HAT_ENERGY + 0.2:
        for h in out:
            if h[0] == last_offbeat and h[1] == CLOSED_HAT:
                h[1] = OPEN_HAT
    return out


def _fill(ctx: Context, fills: list[list], light: bool, bar: int) -> tuple[int, list[list]]:
    """Where the fill starts in the bar and its hits: a learned fill's last two beats (full), its last beat
    (light), or a snare pickup where no fill was learned."""
    if fills and bar == 16:
        if not light:
            return bar - 2 * STEPS_PER_BEAT, ctx.rng.choice(fills)
        # A light fill is a learned fill's last beat, from the fills that play one there (two strokes or more).
        tails = [t for t in ([h for h in f if h[0] >= LIGHT_FILL_FROM] for f in fills)
                 if sum(h[1] in FILL_STROKES for h in t) >= 2]
        if tails:
            return LIGHT_FILL_FROM, ctx.rng.choice(tails)
    start = bar - STEPS_PER_BEAT
    every = 2 if light or ctx.shape.density < 0.6 else 1
    return start, [[step, SNARE, 70 + 8 * i, 0.0] for i, step in enumerate(range(start, bar, every))]


def drums(ctx: Context, style: str) -> list[Hit]:
    """The drum part over the intro and the piece (the ending is played by parts.ending)."""
    tl, form = ctx.timeline, ctx.form
    patterns, fills = drum_patterns(style), drum_fills(style)
    bar = tl.steps_per_bar
    grooves: dict[int, dict] = {}
    hits: list[Hit] = []
    for bar_start in range(0, tl.play_steps, bar):
        here = form.at_bar(bar_start // bar)
        if here.section not in grooves:
            grooves[here.section] = _groove_for(ctx, patterns, here.energy)
        groove = grooves[here.section]
        played = _decorated(ctx, style, _at_accent_level(_bar_as_played(ctx, groove, here.phrase_start)), here.energy, bar)
        fill_from, fill = bar, []
        if here.phrase_end and bar_start + bar < tl.play_steps or here.section_end:
            fill_from, fill = _fill(ctx, fills, light=not (here.section_end or here.builds), bar=bar)
        for step, pitch, vel, offset in played:
            if step < fill_from:
                hits.append(Hit(bar_start + step, 1, pitch, ctx.velocity(vel), offset * STEPS_PER_BEAT,
                                spread=_learned_spread(style, pitch, step)))
        for step, pitch, vel, offset in fill:
            hits.append(Hit(bar_start + step, 1, pitch, ctx.velocity(vel), offset * STEPS_PER_BEAT,
                            spread=_learned_spread(style, pitch, step)))
        if here.section_start and bar_start >= tl.intro_steps:
            hits.append(Hit(bar_start, 4, CRASH, ctx.velocity(96)))
            if not any(h[0] == 0 and h[1] == KICK for h in played):
                hits.append(Hit(bar_start, 1, KICK, ctx.velocity(96)))
    return hits


__all__ = ["drums"]
