"""Per-server taste model versions: each server's own history, one active version per server at most, switched
atomically; a rollback returns to the version that was active before, and past the first one to none (the
shared model as it is). Nothing here reads or changes another server's rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from storage import codec
from storage.database import Database, Transaction, parse_optional_time, parse_time, utc_now


class TasteVersionError(LookupError):
    """An unknown taste version of this server, or a rollback with nothing to roll back; the message says which."""


@dataclass(frozen=True)
class TasteVersion:
    guild_id: int
    version: str
    path: str
    base_version: str
    created_at: datetime
    metrics: dict[str, Any]
    active: bool
    activated_at: datetime | None
    previous_version: str | None


def _from_row(row: sqlite3.Row) -> TasteVersion:
    return TasteVersion(
        guild_id=row["guild_id"], version=row["version"], path=row["path"], base_version=row["base_version"], created_at=parse_time(row["created_at"]),
        metrics=codec.loads(row["metrics"], {}), active=bool(row["active"]), activated_at=parse_optional_time(row["activated_at"]),
        previous_version=row["previous_version"],
    )  # fmt: skip


class TasteModelRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(self, guild_id: int, version: str, path: str, base_version: str, metrics: Mapping[str, Any] | None = None) -> TasteVersion:
        """Record a new taste model of the server (inactive); TasteVersionError if the server already has that version."""
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM taste_models WHERE guild_id = ? AND version = ?", (guild_id, version)):
                raise TasteVersionError(f"This server already has a taste model {version!r}.")
            await tx.execute(
                "INSERT INTO taste_models (guild_id, version, path, base_version, created_at, metrics) VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, version, str(path), base_version, utc_now(), codec.dumps(dict(metrics or {}))),
            )
            return await _require(tx, guild_id, version)

    async def active(self, guild_id: int | None) -> TasteVersion | None:
        if guild_id is None:
            return None
        row = await self._db.fetchone("SELECT * FROM taste_models WHERE guild_id = ? AND active = 1", (guild_id,))
        return None if row is None else _from_row(row)

    async def history(self, guild_id: int) -> list[TasteVersion]:
        """The server's versions, newest first."""
        rows = await self._db.fetchall("SELECT * FROM taste_models WHERE guild_id = ? ORDER BY created_at DESC, rowid DESC", (guild_id,))
        return [_from_row(r) for r in rows]

    async def activate(self, guild_id: int, version: str) -> TasteVersion:
        """Make `version` the server's active taste, remembering the one it replaces (None if none was)."""
        async with self._db.transaction() as tx:
            target = await _require(tx, guild_id, version)
            if target.active:
                return target
            current = await tx.fetchone("SELECT version FROM taste_models WHERE guild_id = ? AND active = 1", (guild_id,))
            await tx.execute("UPDATE taste_models SET active = 0 WHERE guild_id = ? AND active = 1", (guild_id,))
            await tx.execute("UPDATE taste_models SET active = 1, activated_at = ?, previous_version = ? WHERE guild_id = ? AND version = ?",
                             (utc_now(), None if current is None else current["version"], guild_id, version))
            return await _require(tx, guild_id, version)

    async def rollback(self, guild_id: int) -> TasteVersion | None:
        """Re-activate the server's previous taste; None when the previous was no taste (the shared model as it is).
        TasteVersionError when the server has no active taste."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM taste_models WHERE guild_id = ? AND active = 1", (guild_id,))
            if row is None:
                raise TasteVersionError("This server has no taste model in use, so there is nothing to roll back: it already composes with the shared model.")
            current = _from_row(row)
            await tx.execute("UPDATE taste_models SET active = 0 WHERE guild_id = ? AND active = 1", (guild_id,))
            if current.previous_version is None or await tx.fetchone(
                "SELECT 1 FROM taste_models WHERE guild_id = ? AND version = ?", (guild_id, current.previous_version)
            ) is None:
                return None
            # The previous version keeps its own previous_version, so repeated rollbacks walk further back.
            await tx.execute("UPDATE taste_models SET active = 1, activated_at = ? WHERE guild_id = ? AND version = ?",
                             (utc_now(), guild_id, current.previous_version))
            return await _require(tx, guild_id, current.previous_version)


async def active_taste_path(db: Database, guild_id: int | None) -> str | None:
    """The taste model file a composition in this server carries (ComposeRequest.taste), if the server has one in
    use and its file is there; None elsewhere (DMs, no taste, a missing file: the shared model as it is)."""
    taste = await TasteModelRepository(db).active(guild_id)
    if taste is None or not Path(taste.path).is_file():
        return None
    return taste.path


async def _require(tx: Transaction, guild_id: int, version: str) -> TasteVersion:
    row = await tx.fetchone("SELECT * FROM taste_models WHERE guild_id = ? AND version = ?", (guild_id, version))
    if row is None:
        raise TasteVersionError(f"This server has no taste model {version!r}.")
    return _from_row(row)


__all__ = ["active_taste_path", "TasteModelRepository", "TasteVersion", "TasteVersionError"]
