"""Code that runs on the Ray cluster: the model replica (batched with @serve.batch) and the render replica.

Both reuse the embedded engine's worker code (engine.service.model_worker.run_batch, the render functions
of engine.service.render_worker), so a piece is made the same way on either backend. Blocking work runs
on a thread, so a replica keeps taking requests (which @serve.batch gathers) while it computes; a batch or
a render that runs past the hang limit is answered with ReplicaHung and the replica then exits, so Serve
replaces it, as the embedded engine kills and restarts a hung process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

from ray import serve

from engine.plan import make_plan
from engine.request import ComposeRequest
from engine.service import model_worker, render_worker
from engine.service.jobs import EngineJob
from engine.service.model_worker import MODEL_NICENESS, ComposerFactory
from engine.service.render_worker import DEFAULT_RENDER_FUNCTIONS, RENDER_NICENESS, RenderFunctions, RenderTask, lower_priority

log = logging.getLogger(__name__)

GATHER_WINDOW_S = 0.002
EXIT_AFTER_HANG_S = 1.0  # time for the answer to leave before the replica exits


class ReplicaHung(Exception):
    """A batch or render ran past the hang limit; the replica answers this and then exits."""


def _exit_soon() -> None:
    timer = threading.Timer(EXIT_AFTER_HANG_S, os._exit, args=(1,))
    timer.daemon = True
    timer.start()


async def _in_thread(work: Callable[[], Any], hang_timeout_s: float, what: str) -> Any:
    future = asyncio.get_running_loop().run_in_executor(None, work)
    try:
        return await asyncio.wait_for(asyncio.shield(future), hang_timeout_s)
    except asyncio.TimeoutError:
        log.error("%s ran over %.0f s; this replica exits so Serve replaces it", what, hang_timeout_s)
        _exit_soon()
        raise ReplicaHung(f"{what} ran over {hang_timeout_s:.0f} s") from None


def _identity() -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    return {"pid": os.getpid(), "actor": context.get_actor_name(), "node": context.get_node_id()}


class ModelReplica:
    """One Composer. `run(jobs)` is one request per bot batch; @serve.batch merges requests that arrive
    while the model is busy (another shard's batch, or this one's next) into one model call."""

    def __init__(self, factory: ComposerFactory, path: Path | None, max_batch_requests: int, hang_timeout_s: float) -> None:
        lower_priority(MODEL_NICENESS)
        self._composer = factory(path)
        make_plan(ComposeRequest(seed=0))  # import the arranger's band tables now, not on the first request
        self._hang_timeout_s = hang_timeout_s
        self._batched.set_max_batch_size(max_batch_requests)
        # The bot's batcher has already waited for its batch; this short window only lets the requests
        # released together by the gate below land in one model call.
        self._batched.set_batch_wait_timeout_s(GATHER_WINDOW_S)
        self._model_free = asyncio.Event()
        self._model_free.set()
        self.model_calls = 0

    def info(self) -> dict[str, Any]:
        return {"version": self._composer.model_version, "model_calls": self.model_calls, **_identity()}

    async def run(self, jobs: list[EngineJob]) -> list[Any]:
        # @serve.batch forms the next batch as soon as one request is queued, even while the model is busy;
        # holding requests here until the model is free lets everything that arrived meanwhile go together.
        await self._model_free.wait()
        return await self._batched(jobs)

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.0)
    async def _batched(self, requests: list[list[EngineJob]]) -> list[list[Any]]:
        jobs = [job for request in requests for job in request]
        self.model_calls += 1
        self._model_free.clear()

        def work() -> list[Any]:
            return [model_worker._portable(o) for o in model_worker.run_batch(self._composer, jobs)]

        try:
            outcomes = await _in_thread(work, self._hang_timeout_s, f"a batch of {len(jobs)}")
        finally:
            self._model_free.set()
        answers, start = [], 0
        for request in requests:
            answers.append(outcomes[start:start + len(request)])
            start += len(request)
        return answers


class RenderReplica:
    """One render at a time (max_ongoing_requests=1), like a render worker process: arrange, synthesise,
    encode and draw with this replica's AudioRenderer, or with the functions given (tests, benchmarks)."""

    def __init__(self, soundfont: Path | None, functions: RenderFunctions | None, hang_timeout_s: float) -> None:
        lower_priority(RENDER_NICENESS)
        if functions is None:
            from engine.render import AudioRenderer

            # The default render functions use the worker module's renderer, as in a render worker process.
            render_worker._renderer = AudioRenderer(soundfont)
            functions = DEFAULT_RENDER_FUNCTIONS
        self._render = functions.whole
        self._hang_timeout_s = hang_timeout_s

    def info(self) -> dict[str, Any]:
        return _identity()

    async def render(self, task: RenderTask) -> Any:
        return await _in_thread(lambda: render_worker.run_task(self._render, task), self._hang_timeout_s, "a render")


__all__ = ["ModelReplica", "RenderReplica", "ReplicaHung"]
