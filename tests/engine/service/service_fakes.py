"""Small stand-ins for the Composer and render_track with the same signatures, fast and scriptable.

They run in the service's worker processes, so they live at module level and are picklable. The request's
`prompt` scripts them: "poison" makes the model raise on that request, "segfault" kills the model process,
"hang" makes the model sleep for a minute,
"crash" kills the render worker, "explode" makes the renderer raise, "slow:<s>" renders for <s> seconds,
"marker:<path>" writes the render worker's pid to <path> and then renders slowly (so a test can kill it).
A composition's latent is [seed, size of the generate() call that wrote it], so tests can see the batching.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.composition import Composition
from engine.music import Note, Piece
from engine.plan import make_plan
from engine.request import MAX_BARS, ComposeRequest
from engine.service.render_worker import RenderTask


@dataclass
class FakeTrack:
    midi: bytes
    mp3: bytes
    png: bytes
    duration_seconds: float
    arrangement: Any
    timings: dict[str, float] = field(default_factory=dict)


class FakeComposer:
    def __init__(self, model_version: str = "fake-1", delay_s: float = 0.0) -> None:
        self.model_version = model_version
        self.delay_s = delay_s

    def _compose(self, request: ComposeRequest, kind: str = "compose", batch_size: int = 1) -> Composition:
        if request.prompt == "poison":
            raise RuntimeError("poisoned request")
        seed = request.seed if request.seed is not None else random.randrange(2**31)
        plan = make_plan(replace(request, seed=seed, style=request.style or "jazz", mood=request.mood or "calm"))
        rng = random.Random(seed)
        melody = [Note(60 + rng.randrange(12), step * 4, 4) for step in range(request.bars * 4)]
        piece = Piece(bars=request.bars, key=plan.key, tempo=plan.tempo, melody=melody, source="generated", name=request.prompt or kind)
        return Composition(piece, plan, np.array([seed, batch_size], dtype=np.float32), self.model_version)

    def generate(self, requests: list[ComposeRequest]) -> list[Composition]:
        time.sleep(self.delay_s)
        if any(r.prompt == "hang" for r in requests):
            time.sleep(60)
        if any(r.prompt == "segfault" for r in requests):
            os.kill(os.getpid(), signal.SIGKILL)
        if any(r.prompt == "poison" for r in requests):
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


def fake_composer(path: Path | None, delay_s: float = 0.0) -> FakeComposer:
    """A composer factory: the model version is the checkpoint's file name ("v1" for the default model)."""
    return FakeComposer(model_version=path.name if path else "v1", delay_s=delay_s)


def only_default_model(path: Path | None) -> FakeComposer:
    """A composer factory for which every checkpoint but the default is missing."""
    if path is not None:
        raise FileNotFoundError(f"No model checkpoint at {path}")
    return FakeComposer(model_version="v1")


def fake_render(task: RenderTask) -> FakeTrack:
    """Runs in a worker process. The MIDI bytes are a digest of the notes, so equal pieces give equal MIDI."""
    script = task.piece.name
    if script == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if script == "explode":
        raise ValueError("ffmpeg said no")
    if script.startswith("slow:"):
        time.sleep(float(script.split(":", 1)[1]))
    if script.startswith("marker:"):
        Path(script.split(":", 1)[1]).write_text(str(os.getpid()))
        time.sleep(2.0)
    notes = repr([(n.pitch, n.start, n.duration) for n in task.piece.melody]).encode()
    midi = hashlib.sha256(notes).digest()
    return FakeTrack(midi=midi, mp3=b"mp3" + midi, png=b"png", duration_seconds=task.piece.duration_seconds,
                     arrangement=None, timings={"arrange": 0.001, "render": 0.002, "encode": 0.001, "picture": 0.001})


def fake_sound(task: RenderTask) -> FakeTrack:
    """The audio half of a split render; the worker's pid stands in for the arrangement."""
    return replace(fake_render(task), png=b"", arrangement=os.getpid(),
                   timings={"arrange": 0.001, "render": 0.002, "encode": 0.001})


def fake_picture(task: RenderTask) -> tuple[bytes, float]:
    return f"png:{os.getpid()}".encode(), 0.003
