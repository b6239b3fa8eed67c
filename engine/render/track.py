"""One call from a piece to everything the bot posts: MIDI, MP3, piano-roll PNG, with per-stage timings."""

from __future__ import annotations

import time
import threading
from dataclasses import dataclass

from engine.arrange import Arrangement, arrange
from engine.music import Piece
from engine.plan.plan import MusicalPlan
from engine.render.audio import AudioRenderer
from engine.render.midi_file import render_midi_bytes
from engine.render.mp3 import DEFAULT_CAP_BYTES, encode_mp3
from engine.render.pianoroll import piano_roll_png
from engine.render_timings import RenderTimings


@dataclass
class RenderedTrack:
    midi: bytes
    mp3: bytes
    png: bytes
    duration_seconds: float
    arrangement: Arrangement
    timings: RenderTimings  # wall seconds per stage (engine.render_timings)


def render_track(piece: Piece, plan: MusicalPlan, renderer: AudioRenderer, cap_bytes: int = DEFAULT_CAP_BYTES,
                 title: str | None = None) -> RenderedTrack:
    """Arrange the piece as its plan says, render and encode its audio, and draw it (titled by the plan)."""
    t0 = time.perf_counter()
    arrangement = arrange(piece, plan)
    midi = render_midi_bytes(arrangement)
    t1 = time.perf_counter()
    audio = renderer.render(arrangement)
    t2 = time.perf_counter()
    # ffmpeg encodes in its own process while this one draws the picture: on two cores they overlap.
    # A thread per call, not a shared pool: a pool's thread would not survive a fork into a worker process.
    encoding = _Encoding(audio, renderer.sample_rate, cap_bytes)
    encoding.start()
    png = piano_roll_png(arrangement, title or plan.title)
    t3 = time.perf_counter()
    mp3, encode_seconds = encoding.result()
    timings = RenderTimings(arrange=t1 - t0, render=t2 - t1, encode=encode_seconds, picture=t3 - t2)
    return RenderedTrack(midi, mp3, png, len(audio) / renderer.sample_rate, arrangement, timings)


class _Encoding(threading.Thread):
    """encode_mp3 on a thread; result() gives the MP3 and its seconds, or raises what encoding raised."""

    def __init__(self, audio, sample_rate: int, cap_bytes: int) -> None:
        super().__init__(name="mp3-encode", daemon=True)
        self._args = (audio, sample_rate, cap_bytes)
        self._outcome: tuple[bytes, float] | BaseException | None = None

    def run(self) -> None:
        start = time.perf_counter()
        try:
            self._outcome = (encode_mp3(*self._args), time.perf_counter() - start)
        except BaseException as exc:  # handed to the caller by result()
            self._outcome = exc

    def result(self) -> tuple[bytes, float]:
        self.join()
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome
