"""The model stage: one dedicated thread owns the Composer, runs batches in order and swaps models between them.

torch releases the GIL inside its kernels, so the event loop keeps running while a batch computes; a single
thread keeps batches ordered and makes "swap between batches" a plain reference assignment.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from engine.music import Piece
from engine.service.jobs import EngineJob, JobKind

if TYPE_CHECKING:
    from engine.generate import Composer, Composition

log = logging.getLogger(__name__)

ComposerFactory = Callable[[Path | None], "Composer"]


def load_composer(path: Path | None) -> "Composer":
    """The production factory: the active model version (or the shipped one when path is None)."""
    from engine.generate import Composer

    return Composer.load(path)


class ModelStage:
    def __init__(self, composer_factory: ComposerFactory | None = None) -> None:
        self._factory = composer_factory or load_composer
        self._composer: Composer | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunesmith-model")

    @property
    def model_version(self) -> str | None:
        return None if self._composer is None else self._composer.model_version

    async def load(self, path: Path | None) -> str:
        """Load a Composer off the event loop and make it the one the next batch uses; returns its version.

        The batch in progress keeps the Composer it started with, so every batch runs on exactly one model.
        """
        composer = await asyncio.to_thread(self._factory, path)
        self._composer = composer
        return composer.model_version

    async def run(self, jobs: list[EngineJob]) -> list[Any]:
        """One outcome per job, in order: its Composition, or the exception that job alone caused."""
        if self._composer is None:
            raise RuntimeError("the model stage has no Composer loaded")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, run_batch, self._composer, jobs)

    def close(self) -> None:
        # A batch still computing finishes on its own; nobody waits for it.
        self._thread.shutdown(wait=False, cancel_futures=True)


def run_batch(composer: "Composer", jobs: list[EngineJob]) -> list[Any]:
    """Fresh compositions in one batched call; edits one by one. A failing batch is retried one request at a
    time, so a single poisoned request (or a batch too big for GPU memory) fails only itself."""
    outcomes: list[Any] = [None] * len(jobs)
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
    return outcomes


def run_edit(composer: "Composer", job: EngineJob) -> "Composition":
    """One edit of an existing piece."""
    if job.kind is JobKind.VARIATION:
        return composer.variation(job.parent, job.request, strength=job.strength)
    if job.kind is JobKind.RESTYLE:
        return composer.restyle(_require_piece(job), job.target, job.request)
    if job.kind is JobKind.REMOOD:
        return composer.remood(_require_piece(job), job.target, job.request)
    if job.kind in (JobKind.EXTEND, JobKind.CONTINUE):
        # The Composer returns the fragment followed by the new bars; a MIDI upload is read by the Composer.
        return composer.continue_piece(_require_piece(job), job.bars, job.request)
    raise ValueError(f"{job.kind} is not an edit")


def _require_piece(job: EngineJob) -> Piece | bytes:
    if job.piece is None:
        raise ValueError(f"a {job.kind.value} job needs a piece")
    return job.piece


def _attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        _release_accelerator_memory()
        return exc


def _release_accelerator_memory() -> None:
    """After a failure (often out-of-memory) hand cached GPU blocks back so the next batch can fit."""
    torch = sys.modules.get("torch")  # only if the Composer already imported it; never import torch here
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


__all__ = ["ComposerFactory", "ModelStage", "load_composer", "run_batch", "run_edit"]
