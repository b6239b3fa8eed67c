"""The SQLite database: connections, pragmas, migrations and serialised write transactions.

One `Database` owns two aiosqlite connections to the same file: a writer, used only inside
`transaction()` under an asyncio lock, and a reader for plain queries. WAL mode lets the reader see
every committed write without waiting for the writer. Writes start with BEGIN IMMEDIATE so a writer
takes the file's write lock up front: with the busy timeout, other processes wait for their turn instead
of failing with "database is locked" on a lock upgrade. A transaction commits before `transaction()`
returns, so a write the caller has seen succeed is on disk.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from storage.dialect import DIALECTS, SQLITE, postgres_ddl

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_VARIANT_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.([a-z]+)\.sql$")  # a per-dialect variant (storage/dialect.py)

DEFAULT_BUSY_TIMEOUT_S = 30.0

Params = Sequence[Any] | dict[str, Any]


class MigrationError(RuntimeError):
    """The migrations folder or a migration is broken; the database was left at its previous version."""


class DatabaseOpenError(RuntimeError):
    """The database file cannot be opened; the message names the file and what to do."""


class DatabaseCorruptError(DatabaseOpenError):
    """The database file is damaged or is not a SQLite database."""


class DatabaseBusyError(RuntimeError):
    """Another program held the database longer than the busy timeout; nothing was written."""


# Where a damaged database sends the operator (bot/commands/db.py).
REPAIR_HINT = "Run `tunesmith db check` to see what is wrong, and `tunesmith db restore` to go back to the newest backup."


def busy_message(timeout_s: float) -> str:
    return (f"The database is busy: another program has held it for over {timeout_s:g} s. "
            "Nothing was lost; please try again in a minute.")


def _is_busy(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    variants: tuple[tuple[str, Path], ...] = ()  # (dialect, file) applied on that dialect instead of `path`

    def statements(self, dialect: str = SQLITE) -> list[str]:
        """The migration's statements for `dialect`: its variant file if it has one, else the SQLite file
        (mapped by storage.dialect.postgres_ddl on PostgreSQL)."""
        variant = dict(self.variants).get(dialect)
        if variant is not None:
            return split_statements(variant.read_text(encoding="utf-8"))
        statements = split_statements(self.path.read_text(encoding="utf-8"))
        return statements if dialect == SQLITE else [postgres_ddl(s) for s in statements]


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations in `directory`, ordered by version; versions must run 1, 2, 3... without gaps."""
    migrations, variants = [], {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            variant = _VARIANT_NAME.match(path.name)
            if variant and variant.group(3) in DIALECTS and variant.group(3) != SQLITE:
                variants.setdefault((int(variant.group(1)), variant.group(2)), []).append((variant.group(3), path))
                continue
            raise MigrationError(f"Migration file {path.name!r} is not named NNNN_name.sql (or NNNN_name.postgresql.sql)")
        migrations.append(Migration(int(match.group(1)), match.group(2), path))
    for key, files in variants.items():
        if key not in {(m.version, m.name) for m in migrations}:
            raise MigrationError(f"Migration variant {files[0][1].name!r} has no {key[0]:04d}_{key[1]}.sql beside it")
    migrations = [Migration(m.version, m.name, m.path, tuple(variants.get((m.version, m.name), ()))) for m in migrations]
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"Migration versions must be consecutive from 1; expected {expected:04d}, found {migration.path.name}")
    return migrations


def split_statements(script: str) -> list[str]:
    """Split SQL text into complete statements (trigger bodies stay whole), dropping empty ones."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement.rstrip(";").strip():
                statements.append(statement)
            buffer = ""
    if buffer.strip() and not _only_comments(buffer):
        raise MigrationError(f"Incomplete SQL statement at the end of a migration: {buffer.strip()[:80]!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def utc_now() -> str:
    """The current time as stored in the database: ISO 8601, UTC, microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parse_optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Transaction:
    """The write connection inside an open transaction; only valid within `Database.transaction()`."""

    dialect = SQLITE

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        return await self._connection.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._connection.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._connection.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Database:
    """An open Tunesmith database on SQLite. Create with `await Database.open(path)` (or, for either engine,
    `storage.open_database`); close with `await db.close()` or `async with`."""

    dialect = SQLITE

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection,
                 busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        migrations_dir: Path = MIGRATIONS_DIR,
        target_version: int | None = None,
    ) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        `target_version` stops migrating at that version; it exists for upgrade tests. Raises
        DatabaseCorruptError for a damaged file, DatabaseBusyError when another program holds it, and
        DatabaseOpenError for anything else SQLite refuses; each message names the file.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            writer = await _connect(path, busy_timeout_s)
            try:
                await _enable_wal(writer, busy_timeout_s)
                await apply_migrations(writer, discover_migrations(migrations_dir), target_version)
                reader = await _connect(path, busy_timeout_s)
            except BaseException:
                await writer.close()
                raise
        except sqlite3.Error as exc:
            raise _open_error(path, exc, busy_timeout_s) from exc
        except MigrationError as exc:
            cause = exc.__cause__  # a migration that failed because the file is damaged, not because of its SQL
            if isinstance(cause, sqlite3.DatabaseError) and not isinstance(cause, sqlite3.OperationalError):
                raise _open_error(path, cause, busy_timeout_s) from exc
            raise
        return cls(path, writer, reader, busy_timeout_s)

    async def close(self) -> None:
        """Wait for the transaction in progress, if any, then close both connections."""
        await self._reader.close()
        async with self._write_lock:
            try:
                # Lets SQLite refresh the query planner's statistics where they are stale (cheap; SQLite's advice).
                await self._writer.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # statistics only; a busy or damaged database must still close (its thread keeps the process alive)
            finally:
                await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Not re-entrant: inside the block, use the yielded Transaction, never the Database's own methods
        that write. Raises DatabaseBusyError when another program holds the database past the busy timeout.
        """
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise DatabaseBusyError(busy_message(self.busy_timeout_s)) from exc
                raise
            except asyncio.CancelledError:
                # The BEGIN runs in the database's thread whether or not we are still waiting for it (a task
                # cancelled at shutdown): end what it began, or the next transaction cannot begin. The thread
                # runs calls in order, so this rollback comes after the BEGIN.
                await asyncio.shield(self._writer.rollback())
                raise
            try:
                yield Transaction(self._writer)
            except BaseException as exc:
                await self._writer.rollback()
                if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                    raise DatabaseBusyError(busy_message(self.busy_timeout_s)) from exc
                raise
            else:
                try:
                    await self._writer.commit()
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                    await self._writer.rollback()
                    raise DatabaseBusyError(busy_message(self.busy_timeout_s)) from exc

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one writing statement in its own transaction; returns the number of rows it changed."""
        async with self.transaction() as tx:
            cursor = await tx.execute(sql, params)
            return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row. Every caller selects one row (by key, an aggregate, or LIMIT 1), so reading the result
        whole costs nothing and takes one trip to the reader's thread instead of three (execute, fetch, close):
        the acknowledgement of a /compose waits on two such reads."""
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def schema_version(self) -> int:
        return await current_version(self._reader)

    async def table_columns(self) -> dict[str, list[str]]:
        """Every Tunesmith table and its columns (for checks such as /forget-me's "no row left" test)."""
        tables = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        return {t["name"]: [c["name"] for c in await self.fetchall(f'PRAGMA table_info("{t["name"]}")')] for t in tables}

    async def pragma(self, name: str) -> Any:
        """The value of a connection pragma as the reader sees it (journal_mode, foreign_keys, busy_timeout...)."""
        if not name.isidentifier():
            raise ValueError(f"Not a pragma name: {name!r}")
        return await self.fetchval(f"PRAGMA {name}")


async def _connect(path: Path, busy_timeout_s: float) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE ourselves.
    connection = await aiosqlite.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        await connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        await connection.execute("PRAGMA foreign_keys = ON")
        # FULL: each commit is fsynced, so an acknowledged write survives a power cut, not just a crash.
        await connection.execute("PRAGMA synchronous = FULL")
    except BaseException:
        # aiosqlite runs each connection on its own thread: one left open keeps the process from ever exiting.
        await connection.close()
        raise
    return connection


def _open_error(path: Path, error: sqlite3.Error, busy_timeout_s: float) -> Exception:
    if _is_busy(error):
        return DatabaseBusyError(f"The database {path} is held by another program (waited {busy_timeout_s:g} s). "
                                 "Stop the other program, or wait for it, then start Tunesmith again.")
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        return DatabaseCorruptError(f"The database {path} is damaged ({error}). {REPAIR_HINT}")
    return DatabaseOpenError(f"Cannot open the database {path} ({error}). Check that the file and its folder can be read and written.")


async def _enable_wal(connection: aiosqlite.Connection, busy_timeout_s: float) -> None:
    # Switching a file to WAL needs its exclusive lock, and SQLite does not wait for it while another connection
    # holds the write lock (it answers "database is locked" at once, whatever the busy timeout): two processes
    # opening a new database together, as the shards of `tunesmith run --shards N` do, then race. So wait here.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + busy_timeout_s
    delay = 0.005
    while True:
        try:
            async with connection.execute("PRAGMA journal_mode = WAL") as cursor:
                row = await cursor.fetchone()
            break
        except sqlite3.OperationalError as exc:
            left = deadline - loop.time()
            if not _is_busy(exc) or left <= 0:
                raise
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 0.2)
    if row is None or str(row[0]).lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL mode (journal_mode is {row[0] if row else 'unknown'})")


async def current_version(connection: aiosqlite.Connection) -> int:
    async with connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") as cursor:
        if await cursor.fetchone() is None:
            return 0
    async with connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(connection: aiosqlite.Connection, migrations: list[Migration], target_version: int | None = None) -> list[int]:
    """Apply each pending migration in its own transaction; returns the versions applied.

    Foreign keys are off while migrating (a migration may rebuild a table) and checked before each commit.
    The version is re-read inside the write lock, so two processes starting at once apply each migration once.
    """
    target = migrations[-1].version if target_version is None and migrations else (target_version or 0)
    applied: list[int] = []
    found = await current_version(connection)
    known = migrations[-1].version if migrations else 0
    if found > known:
        raise MigrationError(
            f"The database is at schema version {found}, newer than this Tunesmith knows ({known}); "
            "run the Tunesmith version that wrote it, or restore a backup."
        )
    if found >= target:
        return applied  # the common case: nothing to do, so take no write lock
    await connection.execute("PRAGMA foreign_keys = OFF")
    try:
        for migration in migrations:
            if migration.version > target:
                break
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                if migration.version <= await current_version(connection):
                    await connection.rollback()
                    continue
                for statement in migration.statements():
                    await connection.execute(statement)
                async with connection.execute("PRAGMA foreign_key_check") as cursor:
                    violation = await cursor.fetchone()
                if violation is not None:
                    raise MigrationError(f"Migration {migration.path.name} leaves a broken reference in table {violation[0]!r}")
                await connection.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, utc_now()),
                )
            except sqlite3.Error as exc:
                await connection.rollback()
                raise MigrationError(f"Migration {migration.path.name} failed: {exc}") from exc
            except BaseException:
                await connection.rollback()
                raise
            await connection.commit()
            applied.append(migration.version)
    finally:
        await connection.execute("PRAGMA foreign_keys = ON")
    return applied
