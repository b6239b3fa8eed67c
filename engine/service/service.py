"""EngineService: queue -> micro-batched model -> render workers, with fairness, limits and fault containment.

    submit() --> FairQueue (per-user FIFOs, round-robin) --> batcher --> model process --> RenderPool
                 positions 1, 2, ...                          position 0 from here on

Only `pipeline_depth` jobs are past the queue at once (generating, waiting for a worker or rendering), so a
job submitted later still gets its fair turn instead of waiting behind a large batch taken earlier.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.request import EngineInputError
from engine.service.errors import EngineBusy, EngineFailure, EngineTimeout, user_facing
from engine.service.fair_queue import FairQueue
from engine.service.jobs import Composition, EngineJob, JobTimings, TrackResult
from engine.service.model_stage import ModelStage
from engine.service.model_worker import ComposerFactory
from engine.service.render_pool import RenderPool, RenderPoolStats
from engine.service.render_worker import RenderFn, RenderFunctions, RenderTask
from engine.service.ticket import JobTicket

if TYPE_CHECKING:
    from engine.render import RenderedTrack

log = logging.getLogger(__name__)

MiB = 1024 * 1024
SHUTDOWN_MESSAGE = "The composer is restarting. Please try again in a minute."
_ids = itertools.count(1)


@dataclass(eq=False)  # identity semantics: entries are queue items and dict keys
class JobEntry:
    job: EngineJob
    future: asyncio.Future[TrackResult]
    submitted: float
    id: int = field(default_factory=lambda: next(_ids))
    admitted: float | None = None  # left the queue for the pipeline
    timer: asyncio.TimerHandle | None = None
    render_task: asyncio.Task[None] | None = None
    timings: JobTimings = field(default_factory=JobTimings)


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the service: its queue, what it has done since it started, its processes' faults."""

    model_version: str | None
    queued: int
    in_flight: int
    users_waiting: int
    batches_run: int
    mean_batch_size: float
    submitted: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    rejected_busy: int
    model_crashes: int
    model_hangs: int
    worker_restarts: int
    worker_crashes: int
    worker_hangs: int
    split_renders: int
    render_workers: int
    mean_render_seconds: float
    p50_job_seconds: float | None


class _Ewma:
    """Exponentially weighted mean, seeded with a guess until real measurements arrive."""

    def __init__(self, initial: float, weight: float = 0.2) -> None:
        self.value = initial
        self._weight = weight

    def add(self, sample: float) -> None:
        self.value += self._weight * (sample - self.value)



class ModelStageBackend(Protocol):
    """What the service needs of its model stage: engine.service.model_stage.ModelStage, or the Ray backend's
    RayModelStage. `run` returns one outcome per job (a Composition, or the WorkerFault that job hit)."""

    crashes: int
    hangs: int

    @property
    def model_version(self) -> str | None: ...

    @property
    def pid(self) -> int | None: ...

    async def load(self, path: Path | None) -> str: ...

    async def run(self, jobs: list[EngineJob]) -> list[Any]: ...

    async def close(self) -> None: ...


class RenderPoolBackend(Protocol):
    """What the service needs of its render workers: engine.service.render_pool.RenderPool, or RayRenderPool."""

    stats: RenderPoolStats

    @property
    def size(self) -> int: ...

    def pids(self) -> list[int]: ...

    async def start(self) -> None: ...

    async def render(self, task: RenderTask, *, may_split: bool = True) -> "RenderedTrack": ...

    async def close(self) -> None: ...

class EngineService:
    """The bot's engine: submit jobs, get tickets; everything heavy runs in other processes.

    render_workers: render processes (FluidSynth + ffmpeg are CPU-bound: about one per core).
    batch_max, batch_wait_ms: a batch holds up to batch_max jobs; during a burst the batcher waits up to
        batch_wait_ms for it to fill.
    queue_cap, per_user_cap: jobs outstanding (queued or in progress) in all, and per user_key; beyond
        them submit() raises EngineBusy with an estimate of when to retry.
    timeout_s: a job not finished this long after submission fails with EngineTimeout; a batch or a render
        running this long is killed and its process replaced.
    pipeline_depth: jobs past the queue at once (default two per render worker); more makes bigger
        batches, fewer keeps positions fair for late arrivals.
    split_picture: let a lone piece draw its piano roll on a second idle worker while the first makes audio.
    drain_timeout_s: how long stop() lets jobs in progress finish.
    composer_factory, render_fn: replace the Composer and render_track (tests, benchmarks); both run in
        worker processes, so they must be picklable (module-level functions or partials of them).
    model_stage, render_pool: run the model and the renders elsewhere (engine.service.ray_backend builds
        Ray Serve ones); when given, composer_factory / render_fn / render_workers are theirs to use.
    start_method: multiprocessing start method for the workers (default forkserver, else spawn; never fork).
    """

    def __init__(
        self,
        checkpoint: Path | None = None,
        soundfont: Path | None = None,
        *,
        render_workers: int = 2,
        batch_max: int = 16,
        batch_wait_ms: float = 20,
        queue_cap: int = 100,
        per_user_cap: int = 3,
        timeout_s: float = 60.0,
        upload_cap_bytes: int = 8 * MiB,
        pipeline_depth: int | None = None,
        split_picture: bool = True,
        drain_timeout_s: float = 10.0,
        composer_factory: ComposerFactory | None = None,
        render_fn: RenderFn | RenderFunctions | None = None,
        start_method: str | None = None,
        model_stage: ModelStageBackend | None = None,
        render_pool: RenderPoolBackend | None = None,
    ) -> None:
        if batch_max < 1 or queue_cap < 1 or per_user_cap < 1 or timeout_s <= 0:
            raise ValueError("batch_max, queue_cap and per_user_cap must be >= 1 and timeout_s > 0")
        self._checkpoint = checkpoint
        self._batch_max = batch_max
        self._batch_wait_s = batch_wait_ms / 1000
        self._queue_cap = queue_cap
        self._per_user_cap = per_user_cap
        self._timeout_s = timeout_s
        self._upload_cap_bytes = upload_cap_bytes
        # Two jobs per worker: one rendering, one generated and ready, so workers never wait on the model.
        self._pipeline_depth = pipeline_depth or 2 * render_workers
        self._drain_timeout_s = drain_timeout_s
        # model_stage / render_pool: another backend's equivalents (engine.service.ray_backend) with the same
        # narrow interface; the queue, fairness, positions, cancellation and time-outs stay here either way.
        self._model = model_stage or ModelStage(composer_factory, hang_timeout_s=timeout_s, start_method=start_method)
        if render_fn is not None and not isinstance(render_fn, RenderFunctions):
            render_fn = RenderFunctions(whole=render_fn)
        self._renders = render_pool or RenderPool(render_workers, soundfont=soundfont, functions=render_fn,
                                                  split_picture=split_picture, hang_timeout_s=timeout_s, start_method=start_method)

        self._queue: FairQueue[JobEntry] = FairQueue()
        self._in_pipeline: set[JobEntry] = set()
        self._per_user: defaultdict[str, list[JobEntry]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        self._running = False
        self._stopped = False
        self._last_arrival = float("-inf")
        self._arrival_gap = float("inf")  # seconds between the last two submissions

        self._job_seconds = _Ewma(5.0)  # admitted -> finished
        self._render_seconds = _Ewma(2.0)  # one render on one worker
        self._batches = 0
        self._batched_jobs = 0
        self._counts: defaultdict[str, int] = defaultdict(int)
        self._recent_totals: deque[float] = deque(maxlen=1000)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the model and start the render workers (concurrently). Raises EngineFailure if either fails."""
        if self._running:
            return
        if self._stopped:
            raise RuntimeError("a stopped EngineService cannot be started again; create a new one")
        model = asyncio.ensure_future(self._model.load(self._checkpoint))
        try:
            await self._renders.start()
        except BaseException:
            await asyncio.gather(model, return_exceptions=True)
            await self._model.close()
            raise
        try:
            await model
        except Exception as exc:
            await self._renders.close()
            await self._model.close()
            raise EngineFailure(f"The composer model could not be loaded: {exc}") from exc
        self._running = True
        self._batcher = asyncio.create_task(self._run_batches(), name="tunesmith-batcher")
        log.info("engine service started: model %s, %d render workers", self.model_version, self._renders.size)

    async def stop(self) -> None:
        """Refuse new jobs, fail queued ones, give in-flight ones `drain_timeout_s` to finish, then fail the rest."""
        if not self._running:
            return
        self._running = False
        self._stopped = True
        for entry in list(self._queue):
            self._finish(entry, error=EngineFailure(SHUTDOWN_MESSAGE))
        pending = [e.future for e in self._in_pipeline]
        if pending:
            await asyncio.wait(pending, timeout=self._drain_timeout_s)
        for entry in list(self._in_pipeline):
            self._finish(entry, error=EngineFailure(SHUTDOWN_MESSAGE))
        if self._batcher is not None:
            self._batcher.cancel()
            await asyncio.gather(self._batcher, return_exceptions=True)
        await asyncio.gather(self._renders.close(), self._model.close())
        log.info("engine service stopped")

    async def __aenter__(self) -> "EngineService":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ public API

    @property
    def model_version(self) -> str | None:
        return self._model.model_version

    def submit(self, job: EngineJob) -> JobTicket:
        """Queue a job and return its ticket at once. Raises EngineBusy when the queue or the user's share is full."""
        if not self._running:
            raise EngineFailure(SHUTDOWN_MESSAGE)
        outstanding = len(self._queue) + len(self._in_pipeline)
        if outstanding >= self._queue_cap:
            self._counts["rejected"] += 1
            raise EngineBusy(self._seconds_until_a_slot_frees(), "The composer is busy right now.")
        mine = self._per_user[job.user_key]
        if len(mine) >= self._per_user_cap:
            self._counts["rejected"] += 1
            noun = "piece" if len(mine) == 1 else "pieces"
            raise EngineBusy(self._seconds_until_user_slot_frees(mine), f"You already have {len(mine)} {noun} on the way.")
        loop = asyncio.get_running_loop()
        entry = JobEntry(job, loop.create_future(), submitted=loop.time())
        self._arrival_gap, self._last_arrival = entry.submitted - self._last_arrival, entry.submitted
        entry.future.add_done_callback(_consume_exception)
        entry.timer = loop.call_later(self._timeout_s, self._expire, entry)
        mine.append(entry)
        self._queue.push(job.user_key, entry)
        self._counts["submitted"] += 1
        self._wake.set()
        self._notify()
        return JobTicket(entry, self)

    async def swap_model(self, path: Path | None) -> str:
        """Load another model version off the event loop; the next batch uses it. Returns the new version.
        On failure the current model stays active and EngineFailure says why."""
        try:
            version = await self._model.load(path)
        except Exception as exc:
            raise EngineFailure(f"Could not load the model at {path}: {exc}") from exc
        log.info("model swapped to %s", version)
        return version

    def render_worker_pids(self) -> list[int]:
        return self._renders.pids()

    def model_pid(self) -> int | None:
        return self._model.pid

    def stats(self) -> EngineStats:
        renders = self._renders.stats
        totals = sorted(self._recent_totals)
        return EngineStats(
            model_version=self.model_version,
            queued=len(self._queue),
            in_flight=len(self._in_pipeline),
            users_waiting=len({e.job.user_key for e in self._queue}),
            batches_run=self._batches,
            mean_batch_size=self._batched_jobs / self._batches if self._batches else 0.0,
            submitted=self._counts["submitted"],
            completed=self._counts["completed"],
            failed=self._counts["failed"],
            cancelled=self._counts["cancelled"],
            timed_out=self._counts["timed_out"],
            rejected_busy=self._counts["rejected"],
            model_crashes=self._model.crashes,
            model_hangs=self._model.hangs,
            worker_restarts=renders.restarts,
            worker_crashes=renders.crashes,
            worker_hangs=renders.hangs,
            split_renders=renders.split_renders,
            render_workers=self._renders.size,
            mean_render_seconds=round(self._render_seconds.value, 3),
            p50_job_seconds=round(statistics.median(totals), 3) if totals else None,
        )

    # ------------------------------------------------------------------ ticket host (engine.service.ticket.TicketHost)

    def queue_position(self, entry: JobEntry) -> int:
        return self._queue.position(entry)

    def positions_changed(self) -> asyncio.Event:
        return self._changed

    def withdraw(self, entry: JobEntry) -> bool:
        if entry.future.done():
            return False
        if entry.render_task is not None:
            entry.render_task.cancel()  # frees its place; a render already running finishes and is dropped
        self._finish(entry, cancelled=True)
        return True

    # ------------------------------------------------------------------ pipeline

    async def _run_batches(self) -> None:
        while True:
            entries = await self._next_batch()
            try:
                await self._generate(entries)
            except Exception as exc:  # a bug here must not stop the service: fail this batch and carry on
                log.exception("batch failed unexpectedly")
                for entry in entries:
                    self._finish(entry, error=user_facing(exc))

    async def _next_batch(self) -> list[JobEntry]:
        """Wait for work and room in the pipeline, then collect up to batch_max jobs or batch_wait_ms.

        The wait is only worth it during a burst (the last two requests came within batch_wait_ms of each
        other): a lone request goes straight to the model. Under steady load batches form anyway, from
        the requests that arrive while the previous batch computes.
        """
        loop = asyncio.get_running_loop()
        while True:
            while not (self._queue and self._room()):
                self._wake.clear()
                await self._wake.wait()
            in_burst = self._arrival_gap < self._batch_wait_s
            deadline = loop.time() + (self._batch_wait_s if in_burst else 0.0)
            while len(self._queue) < self._room() and (remaining := deadline - loop.time()) > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            entries = [self._queue.pop() for _ in range(min(self._room(), len(self._queue)))]
            if entries:  # empty if everything waiting was cancelled meanwhile
                break
        now = loop.time()
        for entry in entries:
            entry.admitted = now
            entry.timings.queue = now - entry.submitted
            self._in_pipeline.add(entry)
        self._notify()
        return entries

    def _room(self) -> int:
        return min(self._batch_max, self._pipeline_depth - len(self._in_pipeline))

    async def _generate(self, entries: list[JobEntry]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await self._model.run([e.job for e in entries])
        except Exception as exc:
            outcomes = [exc] * len(entries)
        seconds = time.perf_counter() - started
        self._batches += 1
        self._batched_jobs += len(entries)
        # A lone piece may use a second idle worker for its picture; a batch needs every worker for itself.
        may_split = sum(not isinstance(o, BaseException) for o in outcomes) == 1
        for entry, outcome in zip(entries, outcomes):
            entry.timings.generate = seconds
            entry.timings.batch_size = len(entries)
            if entry.future.done():  # cancelled or timed out while the model ran
                continue
            if isinstance(outcome, EngineInputError):  # the user's input, told to them: not an operator's alarm
                log.info("job %d (%s) refused: %s", entry.id, entry.job.kind.value, outcome)
                self._finish(entry, error=outcome)
                continue
            if isinstance(outcome, BaseException):
                log.error("model failed on job %d (%s): %r", entry.id, entry.job.kind.value, outcome)
                self._finish(entry, error=user_facing(outcome))
                continue
            entry.render_task = asyncio.create_task(self._render(entry, outcome, may_split), name=f"tunesmith-render-{entry.id}")

    async def _render(self, entry: JobEntry, composition: Composition, may_split: bool) -> None:
        task = RenderTask(piece=composition.piece, plan=composition.plan, cap_bytes=self._upload_cap_bytes)
        started = time.perf_counter()
        try:
            track = await self._renders.render(task, may_split=may_split)
        except EngineFailure as exc:
            self._finish(entry, error=exc)
            return
        except Exception as exc:
            log.error("render failed on job %d: %r", entry.id, exc)
            self._finish(entry, error=user_facing(exc, stage="rendering"))
            return
        render_stage = time.perf_counter() - started
        self._render_seconds.add(track.timings.total() or render_stage)
        entry.timings.add_worker_stages(track.timings)
        entry.timings.render_stage = render_stage
        self._finish(entry, result=TrackResult(composition, track, entry.timings))

    def _expire(self, entry: JobEntry) -> None:
        if not entry.future.done():
            if entry.render_task is not None:
                entry.render_task.cancel()
            self._finish(entry, error=EngineTimeout(f"Your piece took longer than {self._timeout_s:.0f} s to make, so it was dropped. Please try again."))

    def _finish(
        self,
        entry: JobEntry,
        *,
        result: TrackResult | None = None,
        error: BaseException | None = None,
        cancelled: bool = False,
    ) -> None:
        """The one place a job ends: resolve its future, free its queue or pipeline place, tell waiters."""
        if entry.future.done():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        entry.timings.total = now - entry.submitted
        if cancelled:
            entry.future.cancel()
            self._counts["cancelled"] += 1
        elif error is not None:
            entry.future.set_exception(error)
            self._counts["timed_out" if isinstance(error, EngineTimeout) else "failed"] += 1
        else:
            entry.future.set_result(result)
            self._counts["completed"] += 1
            self._recent_totals.append(now - entry.submitted)
            if entry.admitted is not None:
                self._job_seconds.add(now - entry.admitted)
        if entry.timer is not None:
            entry.timer.cancel()
        self._queue.remove(entry)
        if entry in self._in_pipeline:
            self._in_pipeline.discard(entry)
            self._wake.set()  # room for the next batch
        mine = self._per_user[entry.job.user_key]
        mine.remove(entry)
        if not mine:
            del self._per_user[entry.job.user_key]
        self._notify()

    def _notify(self) -> None:
        """Wake every positions() iterator: swap in a fresh event and set the old one."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------------ honest retry-after estimates

    def _seconds_per_completion(self) -> float:
        """When every worker is busy a job finishes about every render_seconds / workers."""
        return self._render_seconds.value / self._renders.size

    def _seconds_until_a_slot_frees(self) -> float:
        return self._seconds_per_completion()

    def _seconds_until_user_slot_frees(self, mine: list[JobEntry]) -> float:
        if any(e in self._in_pipeline for e in mine):
            return self._job_seconds.value
        first = min(self._queue.position(e) for e in mine)
        return first * self._seconds_per_completion() + self._job_seconds.value


def _consume_exception(future: asyncio.Future) -> None:
    # Callers may never await a ticket (the user left); don't log "exception was never retrieved" for it.
    if not future.cancelled():
        future.exception()


__all__ = ["EngineService", "EngineStats", "JobEntry"]
