"""Model versions: each trained checkpoint with its metrics; exactly one is active, switched atomically,
and a rollback returns to the version that was active before."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import codec
from storage.database import Database, Transaction, parse_optional_time, parse_time, utc_now


class ModelVersionError(LookupError):
    """An unknown version, or a rollback with nothing to roll back to; the message says which."""


@dataclass(frozen=True)
class ModelVersion:
    version: str
    path: str  # checkpoint file, as given when registered
    created_at: datetime
    metrics: dict[str, Any]
    active: bool
    activated_at: datetime | None
    previous_version: str | None  # what `rollback` returns to while this one is active


def _from_row(row: sqlite3.Row) -> ModelVersion:
    return ModelVersion(
        version=row["version"],
        path=row["path"],
        created_at=parse_time(row["created_at"]),
        metrics=codec.loads(row["metrics"], {}),
        active=bool(row["active"]),
        activated_at=parse_optional_time(row["activated_at"]),
        previous_version=row["previous_version"],
    )


class ModelVersionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(self, version: str, path: str, metrics: Mapping[str, Any] | None = None) -> ModelVersion:
        """Record a new checkpoint (inactive). Raises ModelVersionError if the version name is taken."""
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM model_versions WHERE version = ?", (version,)):
                raise ModelVersionError(f"Model version {version!r} already exists.")
            await tx.execute(
                "INSERT INTO model_versions (version, path, created_at, metrics) VALUES (?, ?, ?, ?)",
                (version, str(path), utc_now(), codec.dumps(dict(metrics or {}))),
            )
            return await _require(tx, version)

    async def get(self, version: str) -> ModelVersion | None:
        row = await self._db.fetchone("SELECT * FROM model_versions WHERE version = ?", (version,))
        return None if row is None else _from_row(row)

    async def active(self) -> ModelVersion | None:
        row = await self._db.fetchone("SELECT * FROM model_versions WHERE active = 1")
        return None if row is None else _from_row(row)

    async def history(self) -> list[ModelVersion]:
        """Every version, newest first."""
        rows = await self._db.fetchall("SELECT * FROM model_versions ORDER BY created_at DESC, rowid DESC")
        return [_from_row(r) for r in rows]

    async def activate(self, version: str) -> ModelVersion:
        """Make `version` the active one in a single transaction, remembering the one it replaces."""
        async with self._db.transaction() as tx:
            target = await _require(tx, version)
            if target.active:
                return target
            current = await tx.fetchone("SELECT version FROM model_versions WHERE active = 1")
            previous = None if current is None else current["version"]
            await _switch(tx, version)
            await tx.execute("UPDATE model_versions SET previous_version = ? WHERE version = ?", (previous, version))
            return await _require(tx, version)

    async def rollback(self) -> ModelVersion:
        """Re-activate the version that was active before the current one; raises ModelVersionError if none."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM model_versions WHERE active = 1")
            if row is None:
                raise ModelVersionError("No model version is active, so there is nothing to roll back.")
            current = _from_row(row)
            if current.previous_version is None:
                raise ModelVersionError(f"Model version {current.version!r} has no earlier version to roll back to.")
            # The previous version keeps its own `previous_version`, so repeated rollbacks walk further back.
            await _switch(tx, current.previous_version)
            return await _require(tx, current.previous_version)

    async def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> ModelVersion:
        """Merge new metrics (an evaluation run after registering, say) into the version's metrics."""
        async with self._db.transaction() as tx:
            merged = {**(await _require(tx, version)).metrics, **metrics}
            await tx.execute("UPDATE model_versions SET metrics = ? WHERE version = ?", (codec.dumps(merged), version))
            return await _require(tx, version)


async def _require(tx: Transaction, version: str) -> ModelVersion:
    row = await tx.fetchone("SELECT * FROM model_versions WHERE version = ?", (version,))
    if row is None:
        raise ModelVersionError(f"There is no model version {version!r}.")
    return _from_row(row)


async def _switch(tx: Transaction, version: str) -> None:
    # Deactivate first: the unique index allows only one active row at any moment.
    await tx.execute("UPDATE model_versions SET active = 0 WHERE active = 1")
    await tx.execute("UPDATE model_versions SET active = 1, activated_at = ? WHERE version = ?", (utc_now(), version))


__all__ = ["ModelVersion", "ModelVersionRepository", "ModelVersionError"]
