"""Plans for hand-made pieces in tests: the style's form and the mood's energy around the piece's own notes;
for the arrangement tests, the plan an upload gets (`plan_for`) and plans with sections laid out by hand."""

from __future__ import annotations

from dataclasses import replace

from engine.music import Piece
from engine.plan import make_plan, plan_for_piece
from engine.plan.plan import MusicalPlan, Phrase, Section
from engine.request import ComposeRequest


def plan_of(piece: Piece, style: str, mood: str, seed: int = 0) -> MusicalPlan:
    return plan_for_piece(piece.bars, piece.key, piece.tempo or 100.0, style, mood, seed)


def plan_for(piece: Piece, style: str, mood: str, seed: int = 0) -> MusicalPlan:
    """The plan an upload of `piece` gets; a piece without a tempo (0) gets the style's and mood's tempo."""
    if not piece.tempo:
        return make_plan(ComposeRequest(style=style, mood=mood, key=piece.key.name, bars=max(4, piece.bars), seed=seed))
    return plan_for_piece(piece.bars, piece.key, piece.tempo, style, mood, seed)


def with_sections(plan: MusicalPlan, *layout: tuple[str, int, float, tuple[str, ...]]) -> MusicalPlan:
    """`plan` with its sections replaced: (name, bars, energy, roles) each, one after another, in 4-bar phrases."""
    sections, bar = [], 0
    for name, bars, energy, roles in layout:
        phrases = tuple(Phrase(name[0], start, min(4, bar + bars - start)) for start in range(bar, bar + bars, 4))
        sections.append(Section(name, bar, bars, phrases, energy, roles))
        bar += bars
    return replace(plan, sections=tuple(sections), bars=bar)
