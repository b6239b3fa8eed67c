"""Code that runs inside the model process: it holds one Composer and runs batches for the service.

The model lives in its own process, not on a thread of the bot: the Composer's Python-side work (resolving
requests, post-processing tokens, building pieces) holds the GIL, and with GPU-sized batches that stalled
the bot's event loop for 100-160 ms at p99 (docs/bench/service.md). A process also keeps torch out of the
bot's memory, and a crash of the model (a CUDA fault, the OOM killer) costs one batch, not the bot.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Callable

from engine.composition import Composition
from engine.music import Piece
from engine.plan import make_plan
from engine.protocols import Composer, ComposerFactory
from engine.request import ComposeRequest
from engine.service.errors import portable
from engine.service.jobs import EngineJob, JobKind
from engine.service.render_worker import lower_priority

log = logging.getLogger(__name__)

# A batch's outcomes: per job, its Composition or the exception that job alone caused.
Outcome = Composition | BaseException

_composer: Composer | None = None


MODEL_NICENESS = 5


def load_composer(path: Path | None) -> Composer:
    """The production factory: the active model version (or the shipped one when path is None)."""
    from engine.generate import Composer as ModelComposer

    return ModelComposer.load(path)


def load(factory: ComposerFactory, path: Path | None) -> tuple[str, int]:
    """First task of a new model process: load the Composer; returns its version and this process's pid."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bot's shutdown stops this process, not Ctrl-C
    lower_priority(MODEL_NICENESS)  # generation yields to the event loop, but ranks above rendering
    global _composer
    _composer = factory(path)
    # Plans read the arranger's band tables (pretty_midi): import them now, not on the first user's request.
    make_plan(ComposeRequest(seed=0))
    return _composer.model_version, os.getpid()


def run(jobs: list[EngineJob]) -> list[Outcome]:
    """One outcome per job, in order: a Composition, or the exception that job alone caused."""
    if _composer is None:
        raise RuntimeError("the model process has no Composer loaded")
    return [_portable(outcome) for outcome in run_batch(_composer, jobs)]


def run_batch(composer: Composer, jobs: list[EngineJob]) -> list[Outcome]:
    """Fresh compositions in one batched call; edits one by one. A failing batch is retried one request at a
    time, so a single poisoned request (or a batch too big for GPU memory) fails only itself."""
    outcomes: list[Outcome | None] = [None] * len(jobs)
    fresh = [i for i, job in enumerate(jobs) if job.kind.batched]
    if fresh:
        try:
            compositions = composer.generate([jobs[i].request for i in fresh])
            if len(compositions) != len(fresh):
                raise RuntimeError(f"generate returned {len(compositions)} pieces for {len(fresh)} requests")
            for i, composition in zip(fresh, compositions):
                outcomes[i] = composition
        except Exception as exc:
            _release_accelerator_memory()
            if len(fresh) == 1:
                outcomes[fresh[0]] = exc
            else:
                log.warning("batch of %d failed (%r); retrying its requests one by one", len(fresh), exc)
                for i in fresh:
                    outcomes[i] = _attempt(lambda job=jobs[i]: composer.generate([job.request])[0])
    for i, job in enumerate(jobs):
        if not job.kind.batched:
            outcomes[i] = _attempt(lambda job=job: run_edit(composer, job))
    return [RuntimeError("the job got no outcome") if outcome is None else outcome for outcome in outcomes]


def run_edit(composer: Composer, job: EngineJob) -> Composition:
    """One edit of an existing piece."""
    if job.kind is JobKind.VARIATION:
        if job.parent is None:
            raise ValueError("a variation job needs a parent")
        return composer.variation(job.parent, job.request, strength=job.strength)
    piece = job.piece
    if piece is None:
        raise ValueError(f"a {job.kind.value} job needs a piece")
    if job.kind is JobKind.RESTYLE:
        return composer.restyle(_as_piece(piece, job), _target(job), job.request)
    if job.kind is JobKind.REMOOD:
        return composer.remood(_as_piece(piece, job), _target(job), job.request)
    if job.kind in (JobKind.EXTEND, JobKind.CONTINUE):
        # The Composer returns the fragment followed by the new bars; it reads uploaded MIDI bytes itself.
        return composer.continue_piece(piece, job.bars, job.request)
    raise ValueError(f"{job.kind} is not an edit")


def _as_piece(piece: Piece | bytes, job: EngineJob) -> Piece:
    if not isinstance(piece, Piece):
        raise ValueError(f"a {job.kind.value} job needs a Piece, not uploaded bytes")
    return piece


def _target(job: EngineJob) -> str:
    if job.target is None:
        raise ValueError(f"a {job.kind.value} job needs a target")
    return job.target


def _portable(outcome: Outcome) -> Outcome:
    """What crosses back to the bot: a plain Composition (the composer's own subclass may not unpickle there),
    or the error as engine.service.errors.portable makes it (its kind decided here, where its type is known)."""
    if isinstance(outcome, BaseException):
        return portable(outcome)
    return Composition(outcome.piece, outcome.plan, outcome.latent, outcome.model_version)


def _attempt(call: Callable[[], Composition]) -> Outcome:
    try:
        return call()
    except Exception as exc:
        _release_accelerator_memory()
        return exc


def _release_accelerator_memory() -> None:
    """After a failure (often out-of-memory) hand cached GPU blocks back so the next batch can fit."""
    torch = sys.modules.get("torch")  # only if the Composer imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


__all__ = ["ComposerFactory", "Outcome", "load", "load_composer", "run", "run_batch", "run_edit"]
