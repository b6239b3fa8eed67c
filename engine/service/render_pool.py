"""Render workers: one single-process executor per worker, so a crash or a hang costs only the job it was running.

A shared ProcessPoolExecutor fails every pending job when one worker dies; with one executor per worker
the service knows exactly which job was affected, fails only that one, and rebuilds only that worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from engine.service.errors import EngineFailure, EngineTimeout
from engine.service.processes import kill, start_worker, worker_context
from engine.service import render_worker
from engine.service.render_worker import DEFAULT_RENDER_FUNCTIONS, RenderFunctions, RenderTask

if TYPE_CHECKING:
    from engine.render import RenderedTrack

log = logging.getLogger(__name__)

WORKER_START_TIMEOUT_S = 120.0  # importing the synth and matplotlib on a busy 2-core machine can take a while
MAX_REBUILD_BACKOFF_S = 30.0

CRASH_MESSAGE = "The audio renderer crashed while rendering your piece. Please try again."
HANG_MESSAGE = "Rendering your piece took longer than {seconds:.0f} s, so it was stopped. Please try again."


class _WorkerGone(Exception):
    """The worker picked for a task had died while idle: the task did not run."""


@dataclass(eq=False)
class _Worker:
    index: int
    executor: ProcessPoolExecutor
    pid: int
    busy_since: float | None = None
    hang_timer: asyncio.TimerHandle | None = None
    killed_for_hang: bool = False


@dataclass
class RenderPoolStats:
    restarts: int = 0
    crashes: int = 0
    hangs: int = 0
    renders: int = 0
    split_renders: int = 0  # picture drawn on a second, idle worker
    render_seconds: list[float] = field(default_factory=list)


class RenderPool:
    """`workers` render processes; `render(task)` runs a task on the next idle one.

    When a second worker is idle and no other task is waiting, the picture is drawn there while the first
    worker makes the audio: the same CPU work, but the piece is ready sooner on a quiet server.
    """

    def __init__(
        self,
        workers: int,
        *,
        soundfont: Path | None = None,
        functions: RenderFunctions | None = None,
        split_picture: bool = True,
        hang_timeout_s: float = 60.0,
        start_method: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("the render pool needs at least one worker")
        self._size = workers
        self._soundfont = soundfont
        self._functions = functions or DEFAULT_RENDER_FUNCTIONS
        self._build_renderer = functions is None  # only the default functions use the worker's AudioRenderer
        self._split_picture = split_picture and self._functions.can_split
        self._waiting = 0  # tasks waiting for an idle worker
        self._hang_timeout_s = hang_timeout_s
        self._context = worker_context(start_method)
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: dict[int, _Worker] = {}
        self._rebuilds: set[asyncio.Task[None]] = set()
        self._closed = False
        self.stats = RenderPoolStats()

    @property
    def size(self) -> int:
        return self._size

    def pids(self) -> list[int]:
        return [w.pid for w in self._workers.values()]

    async def start(self) -> None:
        """Start every worker and wait until each has built its renderer; raises EngineFailure if they cannot."""
        results = await asyncio.gather(*(self._spawn(i) for i in range(self._size)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for result in results:
            if isinstance(result, _Worker):
                self._workers[result.index] = result
                self._idle.put_nowait(result)
        if failures:
            await self.close()
            raise EngineFailure(f"The audio renderer could not start: {failures[0]}") from failures[0]

    async def render(self, task: RenderTask, *, may_split: bool = True) -> "RenderedTrack":
        """Render on the next idle worker. Raises EngineFailure if the worker crashes while rendering,
        EngineTimeout if it hangs. `may_split=False` when the caller knows more tasks are on their way
        (the rest of a batch)."""
        while True:
            try:
                return await self._render_once(task, may_split)
            except _WorkerGone:
                continue  # a worker had died while idle; the task never ran, so it goes to the next one

    async def _render_once(self, task: RenderTask, may_split: bool) -> "RenderedTrack":
        worker = await self._acquire()
        helper = self._spare_worker(task) if may_split else None
        if helper is None:
            return await self._run_on(worker, self._functions.whole, task)
        self.stats.split_renders += 1
        sound, picture = await asyncio.gather(
            self._run_on(worker, self._functions.sound, task),
            self._run_on(helper, self._functions.picture, task),
            return_exceptions=True,
        )
        failures = [part for part in (sound, picture) if isinstance(part, BaseException)]
        if failures:
            raise next((f for f in failures if not isinstance(f, _WorkerGone)), failures[0])
        png, picture_seconds = picture
        return replace(sound, png=png, timings=sound.timings.with_picture(picture_seconds))

    async def _acquire(self) -> _Worker:
        self._waiting += 1
        try:
            return await self._idle.get()
        finally:
            self._waiting -= 1

    def _spare_worker(self, task: RenderTask) -> _Worker | None:
        """A second idle worker to draw the picture on, if splitting costs nobody a wait."""
        if not self._split_picture:
            return None
        if self._waiting or self._idle.empty():
            return None
        return self._idle.get_nowait()

    async def _run_on(self, worker: _Worker, function: Callable[[RenderTask], Any], task: RenderTask) -> Any:
        loop = asyncio.get_running_loop()
        try:
            future = worker.executor.submit(render_worker.run_task, function, task)
        except BrokenProcessPool as exc:  # died while idle (killed from outside)
            self.stats.crashes += 1
            log.error("render worker %d (pid %d) died while idle; replacing it", worker.index, worker.pid)
            self._replace(worker)
            raise _WorkerGone() from exc
        worker.busy_since = loop.time()
        worker.hang_timer = loop.call_later(self._hang_timeout_s, self._kill_hung, worker)
        # The worker goes back to the idle queue when its process finishes, even if our caller gave up waiting.
        future.add_done_callback(lambda f: _call_in_loop(loop, self._on_done, worker, f))
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            if worker.killed_for_hang:
                raise EngineTimeout(HANG_MESSAGE.format(seconds=self._hang_timeout_s)) from exc
            raise EngineFailure(CRASH_MESSAGE) from exc

    def _on_done(self, worker: _Worker, future: Future) -> None:
        if worker.hang_timer is not None:
            worker.hang_timer.cancel()
        loop = asyncio.get_running_loop()
        if worker.busy_since is not None:
            self.stats.render_seconds.append(loop.time() - worker.busy_since)
            del self.stats.render_seconds[:-1000]
        worker.busy_since = None
        self.stats.renders += 1
        if self._closed:
            return
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            if not worker.killed_for_hang:
                self.stats.crashes += 1
                log.error("render worker %d (pid %d) died; replacing it", worker.index, worker.pid)
            self._replace(worker)
        else:
            self._idle.put_nowait(worker)

    def _kill_hung(self, worker: _Worker) -> None:
        log.error("render worker %d (pid %d) ran over %.0f s; killing it", worker.index, worker.pid, self._hang_timeout_s)
        worker.killed_for_hang = True
        self.stats.hangs += 1
        kill(worker.pid)

    def _replace(self, worker: _Worker) -> None:
        if self._closed or self._workers.get(worker.index) is not worker:
            return
        del self._workers[worker.index]
        worker.executor.shutdown(wait=False, cancel_futures=True)
        task = asyncio.get_running_loop().create_task(self._rebuild(worker.index))
        self._rebuilds.add(task)
        task.add_done_callback(self._rebuilds.discard)

    async def _rebuild(self, index: int) -> None:
        backoff = 1.0
        while not self._closed:
            try:
                worker = await self._spawn(index)
            except Exception:
                log.exception("could not restart render worker %d; retrying in %.0f s", index, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_REBUILD_BACKOFF_S)
                continue
            if self._closed:
                _shutdown_now(worker)
                return
            self.stats.restarts += 1
            self._workers[index] = worker
            self._idle.put_nowait(worker)
            log.info("render worker %d restarted as pid %d", index, worker.pid)
            return

    async def _spawn(self, index: int) -> _Worker:
        executor = ProcessPoolExecutor(max_workers=1, mp_context=self._context, initializer=start_worker, initargs=(os.getpid(),))
        try:
            started = executor.submit(render_worker.prepare, self._soundfont, self._build_renderer)
            pid = await asyncio.wait_for(asyncio.wrap_future(started), WORKER_START_TIMEOUT_S)
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return _Worker(index, executor, pid)

    async def close(self) -> None:
        """Stop every worker now; a render still running is killed (the service drains jobs before calling this)."""
        self._closed = True
        for task in list(self._rebuilds):
            task.cancel()
        await asyncio.gather(*self._rebuilds, return_exceptions=True)
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            if worker.hang_timer is not None:
                worker.hang_timer.cancel()
            if worker.busy_since is not None:
                kill(worker.pid)
        # Joining the executors blocks until their processes exit; do it off the event loop.
        await asyncio.to_thread(lambda: [w.executor.shutdown(wait=True, cancel_futures=True) for w in workers])


def _call_in_loop(loop: asyncio.AbstractEventLoop, callback, *args) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop has closed: the service is gone, nobody needs the worker back
        pass


def _shutdown_now(worker: _Worker) -> None:
    kill(worker.pid)
    worker.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["RenderPool", "RenderPoolStats"]
