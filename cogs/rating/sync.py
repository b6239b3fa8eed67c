"""Keeps the stored ratings equal to the rating reactions as they stand, whatever the order and speed of events.

Every reaction event is queued by message the moment it arrives, so each track's events are handled one batch at a
time in gateway order: a removal can no longer overtake the addition before it. Each batch updates the track's
ledger (who has which rating reactions, in order) and then writes, in one transaction, every member's rating that
differs from what the ledger says. A ledger that may have missed events (the bot was down, or the gateway session
was lost) is first made whole by reading the message's reactions through the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cogs.rating.ledger import TrackLedger
from cogs.rating.limits import HeldChanges, RatingRateLimit
from cogs.rating.queues import SerialQueues
from storage import Storage, Track, UnknownTrackError

log = logging.getLogger(__name__)

# A held change is retried just after the member's window has passed, not exactly on its edge.
RETRY_MARGIN_S = 0.05


@dataclass(frozen=True)
class ReactionChange:
    user_id: int
    score: int
    added: bool
    channel_id: int | None


@dataclass(frozen=True)
class Reread:
    """Read the message's reactions again: at start-up, after a new gateway session, after reactions were cleared."""

    channel_id: int | None = None


@dataclass(frozen=True)
class Retry:
    """Write what the rate limit held back, if it now allows."""


Job = ReactionChange | Reread | Retry
ReadReactions = Callable[[int | None, int], Awaitable[dict[int, set[int]] | None]]
Notify = Callable[[int, int | None], Coroutine[Any, Any, None]]  # (member, channel): tell them their changes are held


class RatingSync:
    def __init__(self, storage: Callable[[], Storage], read: ReadReactions, limit: RatingRateLimit, notify: Notify) -> None:
        self._storage = storage
        self._read = read
        self._limit = limit
        self._notify = notify
        self._held = HeldChanges()
        self._queues: SerialQueues[int, Job] = SerialQueues(self._handle)
        self._ledgers: dict[int, TrackLedger] = {}  # by message id
        self._complete: set[int] = set()  # messages whose ledger was let go while it was complete, this generation
        self._generation = 0  # counts gateway sessions: a ledger is complete only for the session it has followed
        self._session_start = datetime.now(UTC)
        self._retries: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # Intake: none of these await, so calling them first thing in an event handler keeps the gateway's order.

    def reaction(self, message_id: int, channel_id: int | None, user_id: int, score: int, *, added: bool) -> None:
        self._queues.put(message_id, ReactionChange(user_id, score, added, channel_id))

    def reread(self, message_id: int, channel_id: int | None = None) -> None:
        self._queues.put(message_id, Reread(channel_id))

    def new_session(self) -> None:
        """A fresh gateway session: events may have been missed, so each ledger is read again before its next use."""
        self._generation += 1
        self._session_start = datetime.now(UTC)
        self._complete.clear()

    async def idle(self) -> None:
        """Return once every event received so far is handled and every notice posted; held changes may still wait."""
        await self._queues.idle()
        while self._tasks:
            await asyncio.wait(list(self._tasks))
            await self._queues.idle()

    async def settled(self) -> None:
        """Return once every event received so far is handled and no held change waits for a retry."""
        while True:
            await self.idle()
            if not self._retries:
                return
            await asyncio.wait(list(self._retries.values()))

    async def close(self) -> None:
        for task in [*self._retries.values(), *self._tasks]:
            task.cancel()
        for task in [*self._retries.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._retries.clear()
        await self._queues.close()

    # One batch of one message's jobs ------------------------------------------------------------------------

    async def _handle(self, message_id: int, jobs: list[Job]) -> None:
        storage = self._storage()
        track = await storage.tracks.by_message(message_id)
        if track is None:
            self._forget_message(message_id)
            return  # reactions on a message that is not a track are not ratings
        ledger = self._ledgers.get(message_id)
        if ledger is None:
            generation = self._generation if self._is_complete(message_id, track) else None
            ledger = self._ledgers[message_id] = TrackLedger(await storage.ratings.scores(track.id), generation)
        channel_id = next((job.channel_id for job in reversed(jobs) if isinstance(job, ReactionChange | Reread) and job.channel_id), None)
        channel_id = channel_id or track.channel_id
        read = ledger.generation != self._generation or any(isinstance(job, Reread) for job in jobs)
        if read:
            await self._reread(ledger, channel_id, message_id)
        # Replaying events a read already reflects changes nothing but their order, which the events know best.
        acted: set[int] = set()
        for job in jobs:
            if isinstance(job, ReactionChange):
                (ledger.add if job.added else ledger.remove)(job.user_id, job.score)
                acted.add(job.user_id)
        acted |= self._held.on_message(message_id)
        # Without a read only the members who acted can differ; keeping to them also means a rating deleted by
        # /forget-me is not written back from reactions left on the message when someone else reacts.
        candidates = None if read else acted
        try:
            await self._write(track.id, message_id, channel_id, ledger, acted, candidates)
        except UnknownTrackError:
            self._forget_message(message_id)  # deleted meanwhile: nothing to rate
            return
        self._let_go_if_simple(message_id, ledger)

    def _is_complete(self, message_id: int, track: Track) -> bool:
        # Made during this session: every reaction on it came as an event.
        return message_id in self._complete or track.created_at >= self._session_start

    async def _reread(self, ledger: TrackLedger, channel_id: int | None, message_id: int) -> None:
        generation = self._generation
        on_message = await self._read(channel_id, message_id)
        if on_message is None:
            # Unreadable: follow the events from here on rather than try again for each one.
            ledger.generation = generation
        else:
            ledger.merge_read(on_message, generation)

    async def _write(
        self, track_id: int, message_id: int, channel_id: int | None, ledger: TrackLedger, acted: set[int], candidates: set[int] | None
    ) -> None:
        """Write the ratings of `candidates` (None: every member) that differ from the ledger, within the limit of those who acted."""
        ratings = self._storage().ratings
        stored = await ratings.scores(track_id)
        changes: dict[int, int | None] = {}
        in_step: list[int] = []
        for user_id in (ledger.users() | stored.keys()) if candidates is None else candidates:
            wanted = ledger.rating(user_id)
            if stored.get(user_id) == wanted:
                in_step.append(user_id)
                continue
            # Only members' own changes count against their limit; a read at start-up is not theirs.
            wait = self._limit.try_change(user_id) if user_id in acted else None
            if wait is not None:
                self._hold(user_id, message_id, channel_id, wait)
            else:
                changes[user_id] = wanted
        await ratings.apply(track_id, changes)
        for user_id in [*in_step, *changes]:
            self._held.release(user_id, message_id)
        if changes:
            log.info("Ratings written", extra={"track": track_id, "changes": len(changes)})

    def _hold(self, user_id: int, message_id: int, channel_id: int | None, wait: float) -> None:
        if self._held.hold(user_id, message_id):
            self._spawn(self._notify(user_id, channel_id))
        if message_id not in self._retries:
            self._retries[message_id] = asyncio.create_task(self._retry_after(message_id, wait + RETRY_MARGIN_S))

    async def _retry_after(self, message_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        del self._retries[message_id]
        self._queues.put(message_id, Retry())

    def _forget_message(self, message_id: int) -> None:
        self._ledgers.pop(message_id, None)
        for user_id in self._held.on_message(message_id):
            self._held.release(user_id, message_id)

    def _let_go_if_simple(self, message_id: int, ledger: TrackLedger) -> None:
        # With at most one rating reaction per member, the stored ratings say all the ledger knows: keep memory small.
        if ledger.generation == self._generation and ledger.is_simple() and not self._held.any_on(message_id):
            del self._ledgers[message_id]
            self._complete.add(message_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
