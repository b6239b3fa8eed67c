"""Straightforward versions of what the engine does vectorised, for the tests to check it against."""

from __future__ import annotations

from dataclasses import replace

from engine.music import Note, Piece
from engine.postprocess import RANGES
from engine.tokens import fold_into


def clamp_ranges(piece: Piece) -> Piece:
    """Fold melody and bass notes by octaves into their instrument ranges (after transposition)."""

    def fold(notes: list[Note], low: int, high: int) -> list[Note]:
        return [n if low <= n.pitch <= high else replace(n, pitch=fold_into(n.pitch, low, high)) for n in notes]

    return replace(piece, melody=fold(piece.melody, *RANGES["melody"]), bass=fold(piece.bass, *RANGES["bass"]))
