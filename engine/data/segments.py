"""Pieces -> fixed 8-bar training segments: key-normalised, token-encoded, near-empty ones dropped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from engine.data.cache import SEGMENT_BARS, pack_drums
from engine.music import Meter, Piece
from engine.tokens import HOLD, REST, Encoded, encode

DEFAULT_HOP_BARS = 4
MIN_MELODY_ONSETS = 8  # fewer notes in 8 bars is a rest-filled or intro stretch, not a tune
MIN_SOUNDING_FRACTION = 0.25  # of the steps, melody sounding
MIN_TAIL_BARS = 6  # a piece's last, partial window is kept when it has this many bars of music


@dataclass
class Segment:
    first_bar: int
    encoded: Encoded
    packed_drums: np.ndarray

    def digest(self) -> str:
        """Content hash for duplicate removal (melody, chords and bass tokens; mode)."""
        h = hashlib.blake2b(digest_size=12)
        for arr in (self.encoded.melody, self.encoded.chords, self.encoded.bass):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(bytes([self.encoded.mode]))
        return h.hexdigest()


def is_near_empty(encoded: Encoded) -> bool:
    melody = encoded.melody
    onsets = int(np.sum(melody >= 2))
    sounding = float(np.mean(melody != REST))
    return onsets < MIN_MELODY_ONSETS or sounding < MIN_SOUNDING_FRACTION


def piece_segments(piece: Piece, bars: int = SEGMENT_BARS, hop: int = DEFAULT_HOP_BARS) -> tuple[list[Segment], int]:
    """Key-normalised 8-bar windows of a 4/4 piece (hop of `hop` bars) and how many near-empty ones were dropped.

    Raises ValueError for other meters (the cache and models work on 4/4).
    """
    if piece.meter != Meter(4, 4):
        raise ValueError(f"{piece.meter.numerator}/{piece.meter.denominator} is not in the model cache yet (4/4 only)")
    normal, _ = piece.normalised()
    starts = list(range(0, max(1, piece.bars - bars + 1), hop))
    if piece.bars >= bars and (piece.bars - bars) % hop:
        starts.append(piece.bars - bars)  # the ending matters: always include the last full window
    if piece.bars < bars and piece.bars < MIN_TAIL_BARS:
        return [], 0
    out, dropped = [], 0
    for first in starts:
        window = normal.window(first, bars)
        enc = encode(window)
        if is_near_empty(enc):
            dropped += 1
            continue
        out.append(Segment(first, enc, pack_drums(enc.drums)))
    return out, dropped


__all__ = ["Segment", "piece_segments", "is_near_empty", "DEFAULT_HOP_BARS", "HOLD"]
