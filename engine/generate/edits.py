"""Edits of existing music: variations, interpolations, restyle, re-mood and continuation.

Each edit makes a plan for what it writes (from its request, with the parent's choices filling what the
request leaves open) and a latent to write it from; the Composer does the rest.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from engine.composition import Composition
from engine.music import Key, Meter, Piece
from engine.plan import derive_seed
from engine.plan.resolve import MOOD_MINOR_RATE
from engine.request import MAX_BARS, MAX_TEMPO, MIN_BARS, MIN_TEMPO, ComposeRequest, EngineInputError
from engine.labels import normalise_mood

if TYPE_CHECKING:
    from engine.generate.composer import Composer

CONTINUATION_STEP = 0.3  # how far a continuation's latent moves from the fragment's toward a fresh sample


def variation(composer: "Composer", parent: "Composition | np.ndarray", request: ComposeRequest | None, strength: float) -> Composition:
    """A latent neighbour of the parent: `strength` 0 keeps its latent, 1 is a fresh piece."""
    if not 0.0 <= strength <= 1.0:
        raise EngineInputError(f"Variation strength must be between 0 and 1, not {strength}.")
    plan = composer.plan(inherit(request, parent.request if isinstance(parent, Composition) else None))
    fresh = composer.sample_latents([plan], [derive_seed(plan.seed, "variation")])[0]
    return composer.from_latent(torch.lerp(composer.latent_of(parent), fresh, strength), plan)


def interpolate(composer: "Composer", a: "Composition | np.ndarray", b: "Composition | np.ndarray", steps: int,
                request: ComposeRequest | None) -> list[Composition]:
    """`steps` pieces on the spherical path from a's latent to b's (both ends included). The first half
    keeps a's style and mood, the second half b's (when b is a Composition)."""
    if not 2 <= steps <= 16:
        raise EngineInputError(f"Interpolation steps must be between 2 and 16, not {steps}.")
    req_a = composer.plan(inherit(request, a.request if isinstance(a, Composition) else None)).request
    req_b = composer.plan(inherit(request, b.request)).request if isinstance(b, Composition) else req_a
    za, zb = composer.latent_of(a), composer.latent_of(b)
    out = []
    for i in range(steps):
        t = i / (steps - 1)
        plan = composer.plan(replace(req_a if t < 0.5 else req_b, seed=derive_seed(req_a.seed, "interpolate", i)))
        out.append(composer.from_latent(_slerp(za, zb, t), plan))
    return out


def restyle(composer: "Composer", piece: Piece, style: str, request: ComposeRequest | None) -> Composition:
    """The same tune (its latents) written in another style, with that style's form and harmony; key and
    mood stay unless the request sets them."""
    piece = checked_fragment(piece)
    base = request or ComposeRequest()
    plan = composer.plan(replace(base, style=style, key=base.key or piece.key.name, bars=_bars_of(piece)))
    return composer.from_block_latents(composer.encode_blocks(piece), plan)


def remood(composer: "Composer", piece: Piece, mood: str, request: ComposeRequest | None) -> Composition:
    """The same tune in another mood: the mode follows the mood (sad and dark go minor) unless a key is given."""
    piece = checked_fragment(piece)
    base = request or ComposeRequest()
    try:
        mood_name = normalise_mood(mood)
    except ValueError as exc:
        raise EngineInputError(str(exc)) from None
    key = base.key
    if key is None:
        key = Key(piece.key.tonic, "minor" if MOOD_MINOR_RATE[mood_name] >= 0.5 else "major").name
    plan = composer.plan(replace(base, mood=mood_name, key=key, bars=_bars_of(piece)))
    return composer.from_block_latents(composer.encode_blocks(piece), plan)


def continue_piece(composer: "Composer", piece: "Piece | bytes | str | Path", bars: int, request: ComposeRequest | None) -> Composition:
    """The fragment followed by `bars` new bars in its key and tempo, from a latent near the fragment's
    last block. The whole stays within MAX_BARS: a longer fragment is continued from its last bars. The
    composition's plan covers the whole piece (the fragment's bars and the new ones)."""
    fragment = checked_fragment(as_piece(piece))
    if not MIN_BARS <= bars <= MAX_BARS:
        raise EngineInputError(f"Bars must be between {MIN_BARS} and {MAX_BARS}, not {bars}.")
    bars = min(bars, MAX_BARS - MIN_BARS)
    if fragment.bars + bars > MAX_BARS:
        fragment = fragment.window(fragment.bars - (MAX_BARS - bars), MAX_BARS - bars)
    base = request or ComposeRequest()
    tempo = base.tempo or int(round(min(MAX_TEMPO, max(MIN_TEMPO, fragment.tempo))))
    asked = replace(base, key=fragment.key.name, tempo=tempo)
    new_plan = composer.plan(replace(asked, bars=bars))
    z_fragment = composer.encode_blocks(fragment)[-1]
    fresh = composer.sample_latents([new_plan], [derive_seed(new_plan.seed, "continue")])[0]
    new = composer.from_latent(torch.lerp(z_fragment, fresh, CONTINUATION_STEP), new_plan)
    whole = composer.plan(replace(asked, bars=max(MIN_BARS, fragment.bars + bars), seed=new_plan.seed))
    return Composition(join(fragment, new.piece), whole, new.latent, new.model_version)


def inherit(request: ComposeRequest | None, parent: ComposeRequest | None) -> ComposeRequest:
    """The request with open fields taken from the parent's resolved request (a new seed unless given)."""
    request = request or ComposeRequest()
    if parent is None:
        return request
    return replace(request, style=request.style or parent.style, mood=request.mood or parent.mood,
                   key=request.key or parent.key, tempo=request.tempo or parent.tempo)


def as_piece(source: "Piece | bytes | str | Path") -> Piece:
    if isinstance(source, Piece):
        return source
    from engine.data.midi import MidiReadError, midi_to_piece  # pretty_midi only when MIDI is uploaded

    try:
        return midi_to_piece(source)
    except (MidiReadError, ValueError) as exc:
        raise EngineInputError(f"That MIDI fragment cannot be used: {exc}") from None


def checked_fragment(piece: Piece) -> Piece:
    if piece.meter != Meter(4, 4):
        raise EngineInputError(f"Fragments must be in 4/4; this one is in {piece.meter.numerator}/{piece.meter.denominator}.")
    if piece.bars < 1 or not piece.melody:
        raise EngineInputError("That fragment has no melody notes to work from.")
    if piece.bars > MAX_BARS:
        piece = piece.window(0, MAX_BARS)
    return piece


def _bars_of(piece: Piece) -> int:
    """The length an edit of `piece` is planned at: its own, within what a plan can hold."""
    return min(MAX_BARS, max(MIN_BARS, piece.bars))


def join(first: Piece, second: Piece) -> Piece:
    """`second` appended after `first` (same key and meter), as one piece."""
    offset = first.total_steps

    def moved(items):
        return [replace(x, start=x.start + offset) for x in items]

    return replace(second, bars=first.bars + second.bars, melody=first.melody + moved(second.melody),
                   harmony=first.harmony + moved(second.harmony), bass=first.bass + moved(second.bass),
                   drums=first.drums + moved(second.drums))


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    cos = torch.clamp(torch.dot(a, b) / (a.norm() * b.norm() + 1e-8), -1.0, 1.0)
    omega = torch.arccos(cos)
    if float(omega) < 1e-4:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


__all__ = ["continue_piece", "interpolate", "remood", "restyle", "variation"]
