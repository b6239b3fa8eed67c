"""Small stand-ins for the Composer and render_track with the same signatures, fast and with explicit faults.

They run in the service's worker processes, so they live at module level and are picklable; the faults
travel with them as a `FakeFaults` (a dataclass of switches, each naming the seeds of the requests it
hits), bound into the factory and the render function with functools.partial:

    faults = FakeFaults(model_raises={13}, renderer_dies={6})
    EngineService(composer_factory=partial(fake_composer, faults=faults), render_fn=partial(fake_render, faults=faults))

A composition's latent is [seed, size of the generate() call that wrote it], so tests can see the batching.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.composition import Composition
from engine.music import Note, Piece
from engine.plan import make_plan
from engine.request import MAX_BARS, ComposeRequest
from engine.render_timings import RenderTimings
from engine.service.render_worker import RenderTask


@dataclass(frozen=True)
class FakeFaults:
    """What goes wrong in the fakes, by the seed of the request it happens to (no switch set: nothing does)."""

    model_raises: Collection[int] = ()  # the model raises RuntimeError on these requests (and on any batch holding one)
    model_dies: Collection[int] = ()  # a batch holding one kills the model process (SIGKILL)
    model_hangs: Collection[int] = ()  # a batch holding one sleeps for a minute
    renderer_dies: Collection[int] = ()  # the render worker is killed (SIGKILL)
    renderer_raises: Collection[int] = ()  # the renderer raises ValueError("ffmpeg said no")
    render_seconds: Mapping[int, float] = field(default_factory=dict)  # these renders take this long
    pid_files: Mapping[int, str] = field(default_factory=dict)  # the worker writes its pid there, then renders for 2 s


NO_FAULTS = FakeFaults()


@dataclass
class FakeTrack:
    midi: bytes
    mp3: bytes
    png: bytes
    duration_seconds: float
    arrangement: Any
    timings: RenderTimings = field(default_factory=lambda: RenderTimings(0.0, 0.0, 0.0))


class FakeComposer:
    """A Composer (engine.protocols.Composer) that writes a seeded scale-like melody at once."""

    def __init__(self, model_version: str = "fake-1", delay_s: float = 0.0, faults: FakeFaults = NO_FAULTS) -> None:
        self.model_version = model_version
        self.delay_s = delay_s
        self.faults = faults

    def _compose(self, request: ComposeRequest, kind: str = "compose", batch_size: int = 1) -> Composition:
        if request.seed in self.faults.model_raises:
            raise RuntimeError("poisoned request")
        seed = request.seed if request.seed is not None else random.randrange(2**31)
        plan = make_plan(replace(request, seed=seed, style=request.style or "jazz", mood=request.mood or "calm"))
        rng = random.Random(seed)
        melody = [Note(60 + rng.randrange(12), step * 4, 4) for step in range(request.bars * 4)]
        piece = Piece(bars=request.bars, key=plan.key, tempo=plan.tempo, melody=melody, source="generated", name=request.prompt or kind)
        return Composition(piece, plan, np.array([seed, batch_size], dtype=np.float32), self.model_version)

    def generate(self, requests: list[ComposeRequest]) -> list[Composition]:
        time.sleep(self.delay_s)
        seeds = {r.seed for r in requests}
        if seeds & set(self.faults.model_hangs):
            time.sleep(60)
        if seeds & set(self.faults.model_dies):
            os.kill(os.getpid(), signal.SIGKILL)
        if seeds & set(self.faults.model_raises):
            raise RuntimeError("poisoned batch")
        return [self._compose(r, batch_size=len(requests)) for r in requests]

    def variation(self, parent: Any, request: ComposeRequest, strength: float = 0.3) -> Composition:
        return self._compose(request, "variation")

    def restyle(self, piece: Piece, style: str, request: ComposeRequest) -> Composition:
        return self._compose(replace(request, style=style), "restyle")

    def remood(self, piece: Piece, mood: str, request: ComposeRequest) -> Composition:
        return self._compose(replace(request, mood=mood), "remood")

    def continue_piece(self, piece: Piece, bars: int, request: ComposeRequest) -> Composition:
        """Like the real one: the fragment followed by the new bars."""
        new = self._compose(replace(request, bars=bars), "continue")
        offset = piece.total_steps
        melody = piece.melody + [replace(n, start=n.start + offset) for n in new.piece.melody]
        whole = make_plan(replace(new.plan.request, bars=min(MAX_BARS, piece.bars + bars)))
        return replace(new, piece=replace(new.piece, bars=piece.bars + bars, melody=melody), plan=whole)

    def encode(self, piece: Piece) -> np.ndarray:
        return np.zeros(4, dtype=np.float32)


def fake_composer(path: Path | None, delay_s: float = 0.0, faults: FakeFaults = NO_FAULTS) -> FakeComposer:
    """A composer factory: the model version is the checkpoint's file name ("v1" for the default model)."""
    return FakeComposer(model_version=path.name if path else "v1", delay_s=delay_s, faults=faults)


def only_default_model(path: Path | None) -> FakeComposer:
    """A composer factory for which every checkpoint but the default is missing."""
    if path is not None:
        raise FileNotFoundError(f"No model checkpoint at {path}")
    return FakeComposer(model_version="v1")


def fake_render(task: RenderTask, faults: FakeFaults = NO_FAULTS) -> FakeTrack:
    """Runs in a worker process. The MIDI bytes are a digest of the notes, so equal pieces give equal MIDI."""
    seed = task.plan.request.seed
    if seed in faults.renderer_dies:
        os.kill(os.getpid(), signal.SIGKILL)
    if seed in faults.renderer_raises:
        raise ValueError("ffmpeg said no")
    if seed in faults.render_seconds:
        time.sleep(faults.render_seconds[seed])
    if seed in faults.pid_files:
        Path(faults.pid_files[seed]).write_text(str(os.getpid()))
        time.sleep(2.0)
    notes = repr([(n.pitch, n.start, n.duration) for n in task.piece.melody]).encode()
    midi = hashlib.sha256(notes).digest()
    return FakeTrack(midi=midi, mp3=b"mp3" + midi, png=b"png", duration_seconds=task.piece.duration_seconds,
                     arrangement=None, timings=RenderTimings(arrange=0.001, render=0.002, encode=0.001, picture=0.001))


def fake_sound(task: RenderTask, faults: FakeFaults = NO_FAULTS) -> FakeTrack:
    """The audio half of a split render; the worker's pid stands in for the arrangement."""
    return replace(fake_render(task, faults), png=b"", arrangement=os.getpid(),
                   timings=RenderTimings(arrange=0.001, render=0.002, encode=0.001))


def fake_picture(task: RenderTask) -> tuple[bytes, float]:
    return f"png:{os.getpid()}".encode(), 0.003

