"""Training runs: each /retrain is recorded when it starts and closed when it ends (finished, failed, cancelled, or
interrupted when the bot never saw it end), with its last progress, the trainer's result and the version it
registered. At most one runs at a time (a unique index on the running row)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage import codec
from storage.database import Database, Transaction, parse_optional_time, parse_time, utc_now

RunKind = Literal["taste", "base"]
RunStatus = Literal["running", "finished", "failed", "cancelled", "interrupted"]


class TrainingRunError(LookupError):
    """An unknown run, or a second run while one is recorded as running."""


@dataclass(frozen=True)
class TrainingRun:
    id: int
    kind: RunKind
    guild_id: int | None
    started_by: int
    started_at: datetime
    status: RunStatus
    ended_at: datetime | None
    pid: int | None
    out_dir: str
    base_version: str | None
    progress: dict[str, Any]
    result: dict[str, Any] | None
    candidate_version: str | None
    activated: bool
    outcome: str | None
    channel_id: int | None
    message_id: int | None

    @property
    def running(self) -> bool:
        return self.status == "running"


def _from_row(row: sqlite3.Row) -> TrainingRun:
    return TrainingRun(
        id=row["id"], kind=row["kind"], guild_id=row["guild_id"], started_by=row["started_by"], started_at=parse_time(row["started_at"]),
        status=row["status"], ended_at=parse_optional_time(row["ended_at"]), pid=row["pid"], out_dir=row["out_dir"],
        base_version=row["base_version"], progress=codec.loads(row["progress"], {}), result=codec.loads(row["result"], None) if row["result"] else None,
        candidate_version=row["candidate_version"], activated=bool(row["activated"]), outcome=row["outcome"],
        channel_id=row["channel_id"], message_id=row["message_id"],
    )  # fmt: skip


class TrainingRunRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self, kind: RunKind, guild_id: int | None, started_by: int, out_dir: str, *, pid: int | None = None,
                    base_version: str | None = None) -> TrainingRun:
        """Record a run as running; TrainingRunError if one already is."""
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM training_runs WHERE status = 'running'"):
                raise TrainingRunError("Another training run is recorded as running.")
            row = await tx.fetchone(
                "INSERT INTO training_runs (kind, guild_id, started_by, started_at, pid, out_dir, base_version) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (kind, guild_id, started_by, utc_now(), pid, str(out_dir), base_version),
            )  # RETURNING, not lastrowid: the same on PostgreSQL (storage/dialect.py on main)
        assert row is not None
        return _from_row(row)

    async def get(self, run_id: int) -> TrainingRun | None:
        row = await self._db.fetchone("SELECT * FROM training_runs WHERE id = ?", (run_id,))
        return None if row is None else _from_row(row)

    async def running(self) -> list[TrainingRun]:
        rows = await self._db.fetchall("SELECT * FROM training_runs WHERE status = 'running' ORDER BY id")
        return [_from_row(r) for r in rows]

    async def last(self, guild_id: int | None, *, include_shared: bool = False) -> TrainingRun | None:
        """The newest run of this server's taste (and, with `include_shared`, of the shared model too)."""
        if include_shared:
            row = await self._db.fetchone("SELECT * FROM training_runs WHERE guild_id = ? OR kind = 'base' ORDER BY id DESC LIMIT 1", (guild_id,))
        else:
            row = await self._db.fetchone("SELECT * FROM training_runs WHERE guild_id = ? AND kind = 'taste' ORDER BY id DESC LIMIT 1", (guild_id,))
        return None if row is None else _from_row(row)

    async def set_pid(self, run_id: int, pid: int | None) -> None:
        await self._db.execute("UPDATE training_runs SET pid = ? WHERE id = ?", (pid, run_id))

    async def set_message(self, run_id: int, channel_id: int | None, message_id: int | None) -> None:
        await self._db.execute("UPDATE training_runs SET channel_id = ?, message_id = ? WHERE id = ?", (channel_id, message_id, run_id))

    async def record_progress(self, run_id: int, progress: Mapping[str, Any]) -> None:
        await self._db.execute("UPDATE training_runs SET progress = ? WHERE id = ?", (codec.dumps(dict(progress)), run_id))

    async def record_result(self, run_id: int, result: Mapping[str, Any]) -> None:
        """The trainer's finished event, kept before anything acts on it: a restart can still find the candidate."""
        await self._db.execute("UPDATE training_runs SET result = ? WHERE id = ?", (codec.dumps(dict(result)), run_id))

    async def record_candidate(self, run_id: int, version: str, *, activated: bool = False) -> None:
        await self._db.execute("UPDATE training_runs SET candidate_version = ?, activated = ? WHERE id = ?", (version, int(activated), run_id))

    async def mark_activated(self, version: str, guild_id: int | None) -> None:
        """A candidate put in use later (/model activate): its run says so."""
        if guild_id is None:
            await self._db.execute("UPDATE training_runs SET activated = 1 WHERE candidate_version = ? AND kind = 'base'", (version,))
        else:
            await self._db.execute("UPDATE training_runs SET activated = 1 WHERE candidate_version = ? AND guild_id = ?", (version, guild_id))

    async def end(self, run_id: int, status: RunStatus, outcome: str) -> TrainingRun:
        """Close a running run (a run already closed keeps how it ended); returns the run as recorded."""
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE training_runs SET status = ?, outcome = ?, ended_at = ?, pid = NULL WHERE id = ? AND status = 'running'",
                             (status, outcome, utc_now(), run_id))
            return await _require(tx, run_id)


async def _require(tx: Transaction, run_id: int) -> TrainingRun:
    row = await tx.fetchone("SELECT * FROM training_runs WHERE id = ?", (run_id,))
    if row is None:
        raise TrainingRunError(f"There is no training run {run_id}.")
    return _from_row(row)


__all__ = ["RunKind", "RunStatus", "TrainingRun", "TrainingRunError", "TrainingRunRepository"]
