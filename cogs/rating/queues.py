"""Jobs per key, handled in the order they were put: one batch at a time per key, different keys at once.

`put` never awaits, so calling it first thing in an event handler keeps the gateway's order of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
J = TypeVar("J")


class SerialQueues(Generic[K, J]):
    def __init__(self, handle: Callable[[K, list[J]], Awaitable[None]]) -> None:
        """`handle(key, jobs)` gets every job put for `key` since its last call, oldest first."""
        self._handle = handle
        self._pending: dict[K, list[J]] = {}
        self._workers: dict[K, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, key: K, job: J) -> None:
        self._pending.setdefault(key, []).append(job)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._run(key), name=f"rating-queue-{key}")

    async def _run(self, key: K) -> None:
        try:
            while jobs := self._pending.pop(key, None):
                try:
                    await self._handle(key, jobs)
                except Exception:
                    log.exception("Rating jobs failed", extra={"key": str(key), "jobs": len(jobs)})
        finally:
            del self._workers[key]
            if not self._workers:
                self._idle.set()

    async def idle(self) -> None:
        """Return once no key has jobs left."""
        await self._idle.wait()

    async def close(self, grace_s: float = 5.0) -> None:
        """Drop the jobs not yet started and let each batch in progress finish (a batch cut off mid-write could
        leave the database's transaction open); one still running after `grace_s` seconds is cancelled."""
        self._pending.clear()
        workers = list(self._workers.values())
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=grace_s)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task
