"""One call from a piece to everything the bot posts: MIDI, MP3, piano-roll PNG, with per-stage timings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.arrange import Arrangement, arrange
from engine.music import Piece
from engine.render.audio import AudioRenderer
from engine.render.midi_file import render_midi_bytes
from engine.render.mp3 import DEFAULT_CAP_BYTES, encode_mp3
from engine.render.pianoroll import piano_roll_png
from engine.vocab import MOODS, nearest_mood

DEFAULT_STYLE, DEFAULT_MOOD = "pop", "happy"


@dataclass
class RenderedTrack:
    midi: bytes
    mp3: bytes
    png: bytes
    duration_seconds: float
    arrangement: Arrangement
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: arrange, render, encode, picture


def _resolve(piece: Piece, style: str | None, mood: str | None) -> tuple[str, str]:
    """The style and mood asked for, else the piece's own, else the defaults."""
    style = style or piece.style or DEFAULT_STYLE
    if not mood:
        if piece.mood in MOODS:
            mood = piece.mood
        elif piece.valence is not None and piece.arousal is not None:
            mood = nearest_mood(piece.valence, piece.arousal)
        else:
            mood = DEFAULT_MOOD
    return style, mood


def track_title(arrangement: Arrangement) -> str:
    return f"{arrangement.mood.capitalize()} {arrangement.style} in {arrangement.key.name}"


def render_track(piece: Piece, style: str | None, mood: str | None, seed: int, renderer: AudioRenderer,
                 cap_bytes: int = DEFAULT_CAP_BYTES, title: str | None = None) -> RenderedTrack:
    """Arrange the piece, render and encode its audio, and draw it. Style/mood None: the piece's own."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    arrangement = arrange(piece, *_resolve(piece, style, mood), seed=seed)
    midi = render_midi_bytes(arrangement)
    t1 = time.perf_counter()
    audio = renderer.render(arrangement)
    t2 = time.perf_counter()
    mp3 = encode_mp3(audio, renderer.sample_rate, cap_bytes)
    t3 = time.perf_counter()
    png = piano_roll_png(arrangement, title or track_title(arrangement))
    t4 = time.perf_counter()
    timings.update(arrange=t1 - t0, render=t2 - t1, encode=t3 - t2, picture=t4 - t3)
    return RenderedTrack(midi, mp3, png, len(audio) / renderer.sample_rate, arrangement, timings)
