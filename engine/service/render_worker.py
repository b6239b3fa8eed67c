"""Code that runs inside a render worker process: one AudioRenderer per process, built once by the initializer.

Everything here is imported by the worker by name, so it stays at module level and picklable.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from engine.music import Piece

if TYPE_CHECKING:
    from engine.render import RenderedTrack


@dataclass(frozen=True)
class RenderTask:
    """What a worker needs to arrange and render one composition."""

    piece: Piece
    style: str | None
    mood: str | None
    seed: int
    cap_bytes: int


# A render function takes a task and returns a RenderedTrack. It runs in the worker, so it must be a
# module-level function (picklable by name). The default uses the renderer built by `init_worker`.
RenderFn = Callable[[RenderTask], "RenderedTrack"]

_renderer: Any = None


def init_worker(soundfont: Path | None, build_renderer: bool) -> None:
    """Process-pool initializer: load the synthesiser once, so each render only pays for rendering."""
    # Ctrl-C goes to the whole process group; the bot's own shutdown stops the workers cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _renderer
    if build_renderer:
        from engine.render import AudioRenderer

        _renderer = AudioRenderer(soundfont)


def worker_pid() -> int:
    """Run once per new worker: proves it started (initializer included) and tells the pool whom to kill if it hangs."""
    return os.getpid()


def render_with_worker_renderer(task: RenderTask) -> "RenderedTrack":
    """The production render function: arrange, render, encode and draw with this process's renderer."""
    from engine.render import render_track

    if _renderer is None:
        raise RuntimeError("render worker was started without a renderer")
    return render_track(task.piece, task.style, task.mood, task.seed, _renderer, task.cap_bytes)


__all__ = ["RenderFn", "RenderTask", "init_worker", "render_with_worker_renderer", "worker_pid"]
