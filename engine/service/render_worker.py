"""Code that runs inside a render worker process: one AudioRenderer per process, built once by `prepare`.

Everything here is imported by the worker by name, so it stays at module level and picklable.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from engine.music import Piece

from engine.plan.plan import MusicalPlan  # imported with the worker: every task carries one

if TYPE_CHECKING:
    from engine.render import RenderedTrack


@dataclass(frozen=True)
class RenderTask:
    """What a worker needs to arrange and render one composition."""

    piece: Piece
    plan: MusicalPlan  # style, mood, seed, form and band: what the arranger plays
    cap_bytes: int


# A render function takes a task and returns a RenderedTrack. It runs in the worker, so it must be a
# module-level function (picklable by name). The default uses the renderer built by `prepare`.
RenderFn = Callable[[RenderTask], "RenderedTrack"]
# Draws the task's piano roll alone: (png bytes, seconds it took).
PictureFn = Callable[[RenderTask], tuple[bytes, float]]


@dataclass(frozen=True)
class RenderFunctions:
    """How to render: `whole` on one worker; or, when a second worker is idle, `sound` (everything but the
    picture, png left empty) and `picture` on two workers at once, which takes the picture off the critical path."""

    whole: RenderFn
    sound: RenderFn | None = None
    picture: PictureFn | None = None

    @property
    def can_split(self) -> bool:
        return self.sound is not None and self.picture is not None

_renderer: Any = None
RENDER_NICENESS = 10


def lower_priority(increment: int) -> None:
    """Make this worker process yield the CPU to the bot's process (a no-op where the OS refuses)."""
    try:
        os.nice(increment)
    except (AttributeError, OSError):
        pass


def prepare(soundfont: Path | None, build_renderer: bool) -> int:
    """A new worker's first task: load the synthesiser once, so each render only pays for rendering.

    A task rather than the pool's initializer so that a missing SoundFont or FluidSynth reaches the bot
    with its own message (RenderDependencyError names the fix). Returns the pid, for killing a hung worker.
    """
    # Ctrl-C goes to the whole process group; the bot's own shutdown stops the workers cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Rendering is batch work: below the bot's event loop, which must answer Discord within 3 s on a busy machine.
    lower_priority(RENDER_NICENESS)
    global _renderer
    if build_renderer and _renderer is None:
        from engine.render import AudioRenderer

        _renderer = AudioRenderer(soundfont)
    return os.getpid()


def run_task(function: Callable[[RenderTask], Any], task: RenderTask) -> Any:
    """Run a render function on a task; an exception goes back as engine.service.errors.portable makes it
    (its FaultKind decided here, where its type is known: a too-large upload, out of memory, anything else)."""
    from engine.service.errors import portable

    try:
        return function(task)
    except Exception as exc:
        raise portable(exc) from None


def render_with_worker_renderer(task: RenderTask) -> "RenderedTrack":
    """The production render function: arrange, render, encode and draw with this process's renderer."""
    from engine.render import render_track

    if _renderer is None:
        raise RuntimeError("render worker was started without a renderer")
    return render_track(task.piece, task.plan, _renderer, task.cap_bytes)


def render_sound_with_worker_renderer(task: RenderTask) -> "RenderedTrack":
    """render_track without the picture (png empty, no "picture" timing): arrange, MIDI, audio, MP3."""
    from engine.arrange import arrange
    from engine.render import RenderedTrack, encode_mp3, render_midi_bytes
    from engine.render_timings import RenderTimings

    if _renderer is None:
        raise RuntimeError("render worker was started without a renderer")
    t0 = time.perf_counter()
    arrangement = arrange(task.piece, task.plan)
    midi = render_midi_bytes(arrangement)
    t1 = time.perf_counter()
    audio = _renderer.render(arrangement)
    t2 = time.perf_counter()
    mp3 = encode_mp3(audio, _renderer.sample_rate, task.cap_bytes)
    t3 = time.perf_counter()
    timings = RenderTimings(arrange=t1 - t0, render=t2 - t1, encode=t3 - t2)
    return RenderedTrack(midi, mp3, b"", len(audio) / _renderer.sample_rate, arrangement, timings)


def draw_picture(task: RenderTask) -> tuple[bytes, float]:
    """The piano roll of the same arrangement (arranging is deterministic per seed, and cheap) and its drawing time."""
    from engine.arrange import arrange
    from engine.render import piano_roll_png

    arrangement = arrange(task.piece, task.plan)
    started = time.perf_counter()
    png = piano_roll_png(arrangement, task.plan.title)
    return png, time.perf_counter() - started


DEFAULT_RENDER_FUNCTIONS = RenderFunctions(render_with_worker_renderer, render_sound_with_worker_renderer, draw_picture)


__all__ = [
    "DEFAULT_RENDER_FUNCTIONS", "PictureFn", "RenderFn", "RenderFunctions", "RenderTask", "draw_picture", "prepare",
    "render_sound_with_worker_renderer", "render_with_worker_renderer", "run_task",
]
