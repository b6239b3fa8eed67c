"""JobTicket: the caller's handle on a submitted job (queue position, result, cancellation)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Protocol

from engine.service.jobs import EngineJob, TrackResult

if TYPE_CHECKING:
    from engine.service.service import JobEntry


class TicketHost(Protocol):
    """What a ticket asks of the service that issued it: the public part of the queue a caller may see and change."""

    def queue_position(self, entry: "JobEntry") -> int:
        """0 while the job is being worked on (or finished); 1 when it is next; 2 after that; ..."""

    def positions_changed(self) -> asyncio.Event:
        """An event set (and replaced) whenever any queue position changes."""

    def withdraw(self, entry: "JobEntry") -> bool:
        """Cancel the job; False if it had already finished."""


class JobTicket:
    def __init__(self, entry: "JobEntry", host: TicketHost) -> None:
        self._entry = entry
        self._host = host

    @property
    def job(self) -> EngineJob:
        return self._entry.job

    @property
    def id(self) -> int:
        return self._entry.id

    def position(self) -> int:
        """0 while the job is being worked on (or finished); 1 when it is next in the queue; 2 after that; ..."""
        return self._host.queue_position(self._entry)

    async def positions(self) -> AsyncIterator[int]:
        """The current position, then each new one as it changes; ends when the job finishes."""
        last: int | None = None
        while True:
            changed = self._host.positions_changed()
            position = self.position()
            if position != last:
                yield position
                last = position
            if self.done():
                return
            await changed.wait()

    async def result(self) -> TrackResult:
        """The finished track. Raises EngineFailure (EngineTimeout for time-outs), EngineInputError for a
        request the model rejects, or asyncio.CancelledError if the job was cancelled. Cancelling the task
        that awaits this does not cancel the job; use cancel() for that."""
        return await asyncio.shield(self._entry.future)

    def done(self) -> bool:
        return self._entry.future.done()

    def cancel(self) -> bool:
        """Withdraw the job; False if it had already finished."""
        return self._host.withdraw(self._entry)


__all__ = ["JobTicket", "TicketHost"]
