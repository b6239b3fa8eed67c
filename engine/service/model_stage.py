"""The model stage: the Composer in a process of its own, one batch at a time, swapped between batches.

Swapping starts a second model process with the new version and switches to it once it has loaded, so
batches never wait for a load; the old process finishes the batch it has and exits. A crashed model
process fails only the batch it was running, and is restarted with the same model.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.service import model_worker
from engine.service.errors import EngineFailure, EngineTimeout, ModelLoadError
from engine.service.jobs import EngineJob
from engine.service.model_worker import ComposerFactory
from engine.service.processes import kill, start_worker, worker_context

log = logging.getLogger(__name__)

CRASH_MESSAGE = "The composer crashed while writing your piece. Please try again."
HANG_MESSAGE = "The composer took longer than {seconds:.0f} s on your piece, so it was restarted. Please try again."
MAX_RESTART_BACKOFF_S = 30.0


class _ModelCrashed(Exception):
    """The model process died while running a batch."""


@dataclass(eq=False)
class _ModelProcess:
    executor: ProcessPoolExecutor
    version: str
    pid: int
    path: Path | None

    @classmethod
    async def start(cls, factory: ComposerFactory, path: Path | None, context: Any) -> "_ModelProcess":
        executor = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=start_worker, initargs=(os.getpid(),))
        try:
            # Loading is a task, not the pool initializer, so a bad checkpoint reports its own error.
            version, pid = await asyncio.wrap_future(executor.submit(model_worker.load, factory, path))
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return cls(executor, version, pid, path)

    def retire(self) -> None:
        """Finish the batch already submitted, then exit."""
        self.executor.shutdown(wait=False)


class ModelStage:
    def __init__(self, composer_factory: ComposerFactory | None = None, *, hang_timeout_s: float = 60.0,
                 start_method: str | None = None) -> None:
        self._hang_timeout_s = hang_timeout_s
        self._factory = composer_factory or model_worker.load_composer
        self._context = worker_context(start_method)
        self._process: _ModelProcess | None = None
        self._version: str | None = None  # kept after close(), for reports
        self._restarting: asyncio.Task[None] | None = None
        self._closed = False
        self.crashes = 0
        self.hangs = 0

    @property
    def model_version(self) -> str | None:
        return self._version

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def load(self, path: Path | None) -> str:
        """Start a model process for `path` and make it the one the next batch uses; returns the version.

        The batch in progress finishes on the old process, so every batch runs on exactly one model.
        Raises ModelLoadError, with the loader's message, when the model cannot be loaded (the current model
        stays active).
        """
        try:
            process = await _ModelProcess.start(self._factory, path, self._context)
        except BrokenProcessPool as exc:
            raise ModelLoadError(f"the model process died while loading {path or 'the shipped checkpoint'}") from exc
        except Exception as exc:
            raise ModelLoadError(str(exc) or f"the model at {path or 'the shipped checkpoint'} could not be loaded") from exc
        if self._closed:
            process.retire()
            raise EngineFailure("The engine is shutting down.")
        old, self._process = self._process, process
        self._version = process.version
        if old is not None:
            old.retire()
        return process.version

    async def run(self, jobs: list[EngineJob]) -> list[Any]:
        """One outcome per job, in order: its Composition, or the exception that job alone caused.

        If the model process dies during the batch, it is restarted and each job is tried once more on its
        own, so a request that crashes the model fails alone (EngineFailure) and the rest still finish.
        A batch running past the hang timeout is killed and raises EngineTimeout.
        """
        try:
            return await self._run_once(jobs)
        except _ModelCrashed:
            pass
        if len(jobs) > 1:
            log.warning("retrying the %d jobs of the crashed batch one by one", len(jobs))
        outcomes: list[Any] = []
        for job in jobs:
            try:
                outcomes += await self._run_once([job])
            except _ModelCrashed as exc:
                outcomes.append(EngineFailure(CRASH_MESSAGE))
                outcomes[-1].__cause__ = exc
            except EngineTimeout as exc:
                outcomes.append(exc)
        return outcomes

    async def _run_once(self, jobs: list[EngineJob]) -> list[Any]:
        process = await self._ready_process()
        try:
            batch = asyncio.wrap_future(process.executor.submit(model_worker.run, jobs))
        except BrokenProcessPool:  # it died while idle (killed from outside): not this batch's doing
            self._note_crash(process, "while idle")
            process = await self._ready_process()
            batch = asyncio.wrap_future(process.executor.submit(model_worker.run, jobs))
        try:
            return await asyncio.wait_for(asyncio.shield(batch), self._hang_timeout_s)
        except asyncio.TimeoutError:
            self.hangs += 1
            log.error("model process (pid %d) ran a batch of %d for over %.0f s; killing it", process.pid, len(jobs), self._hang_timeout_s)
            kill(process.pid)
            await asyncio.gather(batch, return_exceptions=True)  # let the executor see the death first
            self._restart_after_failure(process)
            raise EngineTimeout(HANG_MESSAGE.format(seconds=self._hang_timeout_s)) from None
        except BrokenProcessPool as exc:
            self._note_crash(process, f"during a batch of {len(jobs)}")
            raise _ModelCrashed() from exc

    async def _ready_process(self) -> _ModelProcess:
        if self._restarting is not None:
            await asyncio.shield(self._restarting)  # jobs wait for the restarted model instead of failing
        if self._process is None:
            raise RuntimeError("the model stage has no model loaded")
        return self._process

    def _note_crash(self, process: _ModelProcess, when: str) -> None:
        self.crashes += 1
        log.error("model process (pid %d) died %s; restarting it", process.pid, when)
        self._restart_after_failure(process)

    def _restart_after_failure(self, process: _ModelProcess) -> None:
        if self._process is process and self._restarting is None and not self._closed:
            self._restarting = asyncio.get_running_loop().create_task(self._restart(process.path))

    async def _restart(self, path: Path | None) -> None:
        backoff = 1.0
        try:
            while not self._closed:
                try:
                    await self.load(path)
                    return
                except Exception:
                    log.exception("could not restart the model process; retrying in %.0f s", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_RESTART_BACKOFF_S)
        finally:
            self._restarting = None

    async def close(self) -> None:
        self._closed = True
        if self._restarting is not None:
            self._restarting.cancel()
            await asyncio.gather(self._restarting, return_exceptions=True)
        process, self._process = self._process, None
        if process is not None:
            # A batch still computing is abandoned: the service has already failed its jobs.
            kill(process.pid)
            await asyncio.to_thread(process.executor.shutdown, wait=True, cancel_futures=True)


__all__ = ["ModelStage"]
