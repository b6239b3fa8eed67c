"""Plans for hand-made pieces in tests: the style's form and the mood's energy around the piece's own notes."""

from __future__ import annotations

from engine.music import Piece
from engine.plan import plan_for_piece
from engine.plan.plan import MusicalPlan


def plan_of(piece: Piece, style: str, mood: str, seed: int = 0) -> MusicalPlan:
    return plan_for_piece(piece.bars, piece.key, piece.tempo or 100.0, style, mood, seed)
