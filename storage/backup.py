"""Checking, backing up and restoring the database file, and the bot's periodic online backups.

Backups use SQLite's online backup API: a consistent copy taken while the bot keeps reading and writing
(WAL mode lets the copy read while others write). Each copy is written to a temporary name, checked, and
only then given its final name, so a backup folder never holds a half-written file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.database import DatabaseCorruptError, DatabaseOpenError

log = logging.getLogger(__name__)

MANUAL_PREFIX = "tunesmith-"
AUTOMATIC_PREFIX = "tunesmith-auto-"
SUFFIX = ".sqlite3"
BACKUP_PAGES_PER_STEP = 1024  # copy in steps so the bot's writers get the lock between them
RETRY_AFTER_FAILURE_S = 600.0


@dataclass
class CheckReport:
    """What `check_database` found: problems (empty when the file is sound) and, when readable, what it holds."""

    path: Path
    problems: list[str] = field(default_factory=list)
    schema_version: int | None = None
    tracks: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_database(path: Path) -> CheckReport:
    """SQLite's integrity and foreign-key checks on the file at `path`; never changes it."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseOpenError(f"There is no database at {path}.")
    report = CheckReport(path)
    try:
        with contextlib.closing(_connect(path)) as connection:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                report.problems += rows
            for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check"):
                report.problems.append(f"row {rowid} of table {table} refers to a missing row of {parent}")
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" in tables:
                report.schema_version = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if "tracks" in tables:
                report.tracks = connection.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        report.problems.append(str(exc))
    return report


def backup_database(database_path: Path, target: Path) -> Path:
    """An online, checked copy of the database at `target`; raises DatabaseCorruptError if the copy is unsound."""
    database_path, target = Path(database_path), Path(target)
    if not database_path.is_file():
        raise DatabaseOpenError(f"There is no database at {database_path}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(database_path, partial)
        report = check_database(partial)
        if not report.ok:
            raise DatabaseCorruptError(f"The backup of {database_path} failed its check ({report.problems[0]}); the database itself may be damaged.")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def backup_name(prefix: str, now: datetime | None = None) -> str:
    return f"{prefix}{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}{SUFFIX}"


def list_backups(folder: Path, *, automatic_only: bool = False) -> list[Path]:
    """Backups in `folder`, newest first."""
    prefix = AUTOMATIC_PREFIX if automatic_only else MANUAL_PREFIX
    if not Path(folder).is_dir():
        return []
    found = [p for p in Path(folder).iterdir() if p.is_file() and p.name.startswith(prefix) and p.name.endswith(SUFFIX)]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def take_backup(database_path: Path, folder: Path, *, automatic: bool = False, keep: int | None = None) -> Path:
    """A new backup in `folder`, named by the time; automatic ones beyond the newest `keep` are deleted."""
    stem = backup_name(AUTOMATIC_PREFIX if automatic else MANUAL_PREFIX).removesuffix(SUFFIX)
    target = Path(folder) / f"{stem}{SUFFIX}"
    counter = 1
    while target.exists():  # two backups within a second
        counter += 1
        target = Path(folder) / f"{stem}-{counter}{SUFFIX}"
    backup_database(database_path, target)
    if automatic and keep is not None:
        prune_backups(folder, keep)
    return target


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete the automatic backups beyond the newest `keep`; backups taken by hand are never deleted."""
    old = list_backups(folder, automatic_only=True)[keep:]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def restore_database(backup: Path, database_path: Path) -> Path | None:
    """Put the contents of `backup` into the database at `database_path`.

    The backup is checked first (DatabaseCorruptError if it is unsound, and nothing changes). The current
    file, if any, is first copied beside it as `<name>.before-restore-<time>` (returned), so a restore can be
    undone. A current file too damaged to write into is replaced by a new one.
    """
    backup, database_path = Path(backup), Path(database_path)
    report = check_database(backup)
    if not report.ok:
        raise DatabaseCorruptError(f"The backup {backup} is damaged ({report.problems[0]}); choose another one.")
    kept = None
    if database_path.exists():
        kept = database_path.with_name(f"{database_path.name}.before-restore-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        shutil.copy2(database_path, kept)
        for suffix in ("-wal",):
            journal = Path(f"{database_path}{suffix}")
            if journal.exists():
                shutil.copy2(journal, Path(f"{kept}{suffix}"))
    try:
        _copy(backup, database_path)
    except sqlite3.DatabaseError:
        # Too damaged to write into: its copy is kept above, so start the file afresh.
        for stale in (database_path, Path(f"{database_path}-wal"), Path(f"{database_path}-shm")):
            stale.unlink(missing_ok=True)
        _copy(backup, database_path)
    after = check_database(database_path)
    if not after.ok:
        raise DatabaseCorruptError(f"The restored database {database_path} failed its check ({after.problems[0]}).")
    return kept


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA busy_timeout = 30000")
    return connection


def _copy(source: Path, target: Path) -> None:
    with contextlib.closing(_connect(source)) as src, contextlib.closing(_connect(target)) as dst:
        src.backup(dst, pages=BACKUP_PAGES_PER_STEP)


class BackupSchedule:
    """Online backups every `interval_s` while the bot runs, the first one at start when the newest is older."""

    def __init__(self, database_path: Path, folder: Path, interval_s: float, keep: int) -> None:
        if interval_s <= 0:
            raise ValueError("a backup schedule needs a positive interval")
        self.database_path = Path(database_path)
        self.folder = Path(folder)
        self.interval_s = interval_s
        self.keep = keep

    def due_in(self) -> float:
        """Seconds until the next backup is due: none yet, or the newest older than the interval, is now."""
        newest = list_backups(self.folder, automatic_only=True)
        if not newest:
            return 0.0
        return max(0.0, newest[0].stat().st_mtime + self.interval_s - time.time())

    async def run(self) -> None:
        """Until cancelled. A failed backup is logged and tried again later; it never stops the bot."""
        while True:
            try:
                await asyncio.sleep(self.due_in())
                path = await asyncio.to_thread(take_backup, self.database_path, self.folder, automatic=True, keep=self.keep)
            except Exception:
                log.exception("Online backup of the database failed", extra={"database": str(self.database_path)})
                await asyncio.sleep(min(self.interval_s, RETRY_AFTER_FAILURE_S))
                continue
            log.info("Database backed up", extra={"backup": str(path)})


__all__ = [
    "BackupSchedule", "CheckReport", "backup_database", "check_database", "list_backups", "prune_backups",
    "restore_database", "take_backup",
]
