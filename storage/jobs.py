"""Jobs: every request the bot accepted, persisted so a restart can resume it or tell its user it was
interrupted. The interaction token and application id let the bot answer the original interaction later
(Discord keeps a token valid for 15 minutes). The token is a secret: it is left out of the Job's repr (so of
logs), never exported, cleared once the job is done or failed, and /forget-me removes it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from storage import codec
from storage.database import Database, parse_optional_time, parse_time, utc_now
from storage.scope import Scope
from storage.users import touch_users

JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]
IN_FLIGHT: tuple[JobStatus, ...] = ("queued", "running")
FINISHED: tuple[JobStatus, ...] = ("done", "failed", "interrupted")


class JobStateError(RuntimeError):
    """A job moved in a way its life cycle does not allow (finishing a job that already finished, say)."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    guild_id: int | None
    channel_id: int | None
    user_id: int | None
    application_id: int | None
    interaction_token: str | None = field(repr=False)
    message_id: int | None
    request: dict[str, Any]
    status: JobStatus
    error: str | None
    track_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT


def _from_row(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        application_id=row["application_id"],
        interaction_token=row["interaction_token"],
        message_id=row["message_id"],
        request=codec.loads(row["request"], {}),
        status=row["status"],
        error=row["error"],
        track_id=row["track_id"],
        created_at=parse_time(row["created_at"]),
        started_at=parse_optional_time(row["started_at"]),
        finished_at=parse_optional_time(row["finished_at"]),
    )


_ROWS_PER_INSERT = 100  # 9 parameters a row, well within SQLite's 32,766 per statement


@dataclass
class _PendingJob:
    params: tuple[Any, ...]
    user_id: int | None
    done: asyncio.Future[Job]


def _inserted(job_id: int, params: tuple[Any, ...]) -> Job:
    """The Job a create() inserted, from its parameters (the order of the INSERT's columns)."""
    kind, guild_id, channel_id, user_id, application_id, interaction_token, message_id, request, created_at = params
    return Job(id=job_id, kind=kind, guild_id=guild_id, channel_id=channel_id, user_id=user_id, application_id=application_id,
               interaction_token=interaction_token, message_id=message_id, request=codec.loads(request, {}), status="queued",
               error=None, track_id=None, created_at=parse_time(created_at), started_at=None, finished_at=None)


class JobRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Group commit: jobs accepted while a commit is in progress share the next one, so 50 composes at
        # once cost a few synced writes instead of 50, and each is durable before the bot acknowledges it.
        self._pending: list[_PendingJob] = []
        self._flushing: asyncio.Task[None] | None = None

    async def create(
        self,
        kind: str,
        request: Mapping[str, Any],
        *,
        user_id: int | None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        application_id: int | None = None,
        interaction_token: str | None = None,
        message_id: int | None = None,
    ) -> Job:
        """Persist a newly accepted request as a queued job; returns once it is committed (synced to disk).
        `request` must be JSON-serialisable. Concurrent calls are committed together (group commit)."""
        params = (kind, guild_id, channel_id, user_id, application_id, interaction_token, message_id, codec.dumps(dict(request)), utc_now())
        pending = _PendingJob(params, user_id, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="tunesmith-job-commit")
        return await asyncio.shield(pending.done)

    async def _flush(self) -> None:
        """Commit every pending job, one transaction per batch, until none is left."""
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._db.transaction() as tx:
                    # One statement per table for the whole batch: each statement is a trip to the database's
                    # thread, and with 50 composes at once those trips, not the commit, were what the
                    # acknowledgements waited on.
                    users = list(dict.fromkeys(job.user_id for job in batch if job.user_id is not None))
                    if users:
                        await touch_users(tx, users)
                    rows = []
                    for start in range(0, len(batch), _ROWS_PER_INSERT):
                        chunk = batch[start:start + _ROWS_PER_INSERT]
                        inserted = await tx.fetchall(
                            """
                            INSERT INTO jobs (kind, guild_id, channel_id, user_id, application_id, interaction_token, message_id,
                                              request, status, created_at)
                            VALUES """ + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)"] * len(chunk)) + " RETURNING id",
                            [value for job in chunk for value in job.params],
                        )
                        # One statement under the write lock: the ids rise in the order of the rows (SQLite's
                        # AUTOINCREMENT, PostgreSQL's sequence), whatever order RETURNING lists them in. The rows are
                        # known from what was inserted: no read back inside the commit.
                        ids = sorted(int(r["id"]) for r in inserted)
                        rows += [_inserted(job_id, job.params) for job_id, job in zip(ids, chunk)]
            except BaseException as exc:  # the whole batch failed: each caller gets the error (a busy database, say)
                for job in batch:
                    if not job.done.done():
                        job.done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for job, row in zip(batch, rows):
                if not job.done.done():
                    job.done.set_result(row)

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _from_row(row)

    async def start(self, job_id: int) -> Job:
        """queued -> running."""
        return await self._move(job_id, ("queued",), "running", "started_at = ?", (utc_now(),))

    async def finish(self, job_id: int, *, track_id: int | None = None, message_id: int | None = None) -> Job:
        """queued/running -> done, with the track it produced and the message that answered it."""
        return await self._move(
            job_id,
            IN_FLIGHT,
            "done",
            "finished_at = ?, track_id = ?, message_id = COALESCE(?, message_id), interaction_token = NULL",
            (utc_now(), track_id, message_id),
        )

    async def fail(self, job_id: int, error: str) -> Job:
        """queued/running -> failed, with the message shown to the user."""
        return await self._move(job_id, IN_FLIGHT, "failed", "finished_at = ?, error = ?, interaction_token = NULL", (utc_now(), error))

    async def forget_token(self, job_id: int) -> None:
        """Drop the job's interaction token (an interrupted job whose user was told, or whose token expired)."""
        await self._db.execute("UPDATE jobs SET interaction_token = NULL WHERE id = ?", (job_id,))

    async def requeue(self, job_id: int) -> Job:
        """interrupted -> queued, to resume a job after a restart."""
        return await self._move(job_id, ("interrupted",), "queued", "started_at = NULL, finished_at = NULL, error = NULL", ())

    async def set_message(self, job_id: int, message_id: int) -> None:
        """Record the message (e.g. the deferred response) that will show the job's result."""
        await self._db.execute("UPDATE jobs SET message_id = ? WHERE id = ?", (message_id, job_id))

    async def in_flight(self, *, scope: Scope | None = None, user_id: int | None = None) -> list[Job]:
        """Queued and running jobs, oldest first, optionally of one scope (a server, or one user's DMs) or user."""
        sql = "SELECT * FROM jobs WHERE status IN ('queued', 'running')"
        params: list[Any] = []
        if scope is not None:
            where, extra = scope.where()
            sql += f" AND {where}"
            params.extend(extra)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return [_from_row(r) for r in await self._db.fetchall(sql + " ORDER BY id", params)]

    async def recent(self, *, user_id: int | None = None, limit: int = 20) -> list[Job]:
        """The newest jobs, optionally of one user."""
        if user_id is None:
            rows = await self._db.fetchall("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._db.fetchall("SELECT * FROM jobs WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit))
        return [_from_row(r) for r in rows]

    async def mark_interrupted_on_startup(self, holds: Callable[[int | None], bool] | None = None) -> list[Job]:
        """At startup, before accepting work: every job still queued or running was cut off by the last
        shutdown or crash. Mark them interrupted and return them, so the bot can resume each (`requeue`) or
        tell its user.

        `holds(guild_id)` limits this to the jobs of the servers (None: DMs) this process holds, when several
        bot processes (shards) share the database: another live shard's jobs are not touched. Each row is
        claimed in one write transaction, only while it is still in flight, so no job is returned twice."""
        now = utc_now()
        async with self._db.transaction() as tx:
            rows = await tx.fetchall("SELECT id, guild_id FROM jobs WHERE status IN ('queued', 'running') ORDER BY id")
            ids = [r["id"] for r in rows if holds is None or holds(r["guild_id"])]
            await tx.executemany(
                "UPDATE jobs SET status = 'interrupted', finished_at = ?, error = 'The bot restarted before this finished.' "
                "WHERE id = ? AND status IN ('queued', 'running')",
                [(now, job_id) for job_id in ids],
            )
            updated = await tx.fetchall(f"SELECT * FROM jobs WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id", ids) if ids else []
        return [_from_row(r) for r in updated if r["status"] == "interrupted"]

    async def _move(self, job_id: int, allowed_from: tuple[str, ...], to: JobStatus, assignments: str, params: tuple[Any, ...]) -> Job:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT status FROM jobs WHERE id = ?", (job_id,))
            if row is None:
                raise LookupError(f"There is no job #{job_id}.")
            if row["status"] not in allowed_from:
                raise JobStateError(f"Job #{job_id} is {row['status']}; it cannot become {to}.")
            await tx.execute(f"UPDATE jobs SET status = ?, {assignments} WHERE id = ?", (to, *params, job_id))
            updated = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        assert updated is not None
        return _from_row(updated)


__all__ = ["Job", "JobRepository", "JobStatus", "JobStateError", "IN_FLIGHT", "FINISHED"]
