"""The PostgreSQL database (asyncpg): the same interface as storage.database.Database, for several bot processes.

Selected by the `database_url` setting (`postgresql://user@host:5432/tunesmith`); see `storage.open_database`.

What the storage modules rely on, and how it holds here:

* SQL is written once, in SQLite's spelling with `?` placeholders; `translate_placeholders` turns `?` into
  `$1, $2...` (outside string literals and comments), in this one place. Everything else the modules write
  is SQL both engines accept (`ON CONFLICT ... DO UPDATE`, `RETURNING`, `WITH RECURSIVE`).
* Write transactions are serialised across every process on the database, as SQLite's BEGIN IMMEDIATE
  serialises them: each `transaction()` takes one transaction-scoped advisory lock before its first
  statement. So the read-then-write steps in the modules (a job's status move, activating a model version,
  a server's settings merge) are exactly as safe as on SQLite, and concurrent writers lose nothing. Waiting
  longer than the busy timeout for that lock is a DatabaseBusyError, as on SQLite. Reads take no lock.
* Commits are synchronous (PostgreSQL's default `synchronous_commit = on`): a write the caller has seen succeed
  is on the server's disk.
* Migrations are the same files as SQLite's (storage/migrations), with their column types mapped by
  `storage.dialect.postgres_ddl`, applied under a second advisory lock so processes starting at once apply
  each migration once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storage.database import (
    DEFAULT_BUSY_TIMEOUT_S,
    MIGRATIONS_DIR,
    DatabaseBusyError,
    DatabaseOpenError,
    Migration,
    MigrationError,
    busy_message,
    discover_migrations,
    utc_now,
)
from storage.dialect import POSTGRESQL

# Advisory lock keys (any 64-bit numbers unique to Tunesmith): one for write transactions, one for migrations.
WRITE_LOCK_KEY = 0x7475_6E65_0001
MIGRATION_LOCK_KEY = 0x7475_6E65_0002

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.S)


@lru_cache(maxsize=2048)  # the modules' SQL is mostly constant text: translate each statement once
def translate_placeholders(sql: str) -> str:
    """SQLite's `?` placeholders as PostgreSQL's `$1, $2...`; a `?` inside a string, identifier or comment stays."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"${count}"

    return _TOKEN.sub(replace, sql)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.split(":", 1)[0] in ("postgresql", "postgres")


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _rowcount(status: str) -> int:
    """Rows a statement changed, from its command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else 0


class Result:
    """What `execute` returns: the rows changed, as sqlite3's cursor.rowcount."""

    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


def _args(params: Sequence[Any] | dict[str, Any]) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("Named parameters are not supported on PostgreSQL; use ? placeholders")
    return params


def _is_busy(error: BaseException) -> bool:
    import asyncpg

    return isinstance(error, (asyncpg.LockNotAvailableError, asyncpg.QueryCanceledError))


class PostgresTransaction:
    """One pooled connection inside an open transaction; only valid within `PostgresDatabase.transaction()`."""

    dialect = POSTGRESQL

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(_rowcount(await self._connection.execute(translate_placeholders(sql), *_args(params))))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self._connection.executemany(translate_placeholders(sql), rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._connection.fetchrow(translate_placeholders(sql), *_args(params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._connection.fetch(translate_placeholders(sql), *_args(params)))

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class PostgresDatabase:
    """An open Tunesmith database on PostgreSQL. Create with `await PostgresDatabase.open(url)`."""

    dialect = POSTGRESQL
    path: Path | None = None  # no file: backups are pg_dump's (docs/DEPLOY.md)

    def __init__(self, url: str, pool: Any, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        self._pool = pool

    def __repr__(self) -> str:
        return f"PostgresDatabase({redact_url(self.url)!r})"

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        migrations_dir: Path = MIGRATIONS_DIR,
        target_version: int | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresDatabase:
        """Connect to the database at `url` and bring its schema up to date (the same migrations as SQLite's).

        Raises DatabaseOpenError (naming the server, without its password) when it cannot be reached or refuses
        the login, DatabaseBusyError when another process holds the migration lock past the busy timeout.
        """
        import asyncpg

        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=busy_timeout_s,
                                             command_timeout=None)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise DatabaseOpenError(
                f"Cannot open the PostgreSQL database {redact_url(url)} ({type(exc).__name__}: {exc}). "
                "Check database_url, that the server is running and that the user may log in."
            ) from exc
        database = cls(url, pool, busy_timeout_s)
        try:
            async with pool.acquire() as connection:
                await apply_migrations(connection, discover_migrations(migrations_dir), target_version, busy_timeout_s)
        except BaseException:
            await pool.close()
            raise
        return database

    async def close(self) -> None:
        """Wait for the transactions in progress, then close every connection."""
        await self._pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """A write transaction, serialised with every other process's: committed when the block ends, rolled
        back if it raises. DatabaseBusyError when the write lock is not free within the busy timeout."""
        async with self._pool.acquire() as connection:
            tx = connection.transaction()
            await tx.start()
            try:
                try:
                    await connection.execute(f"SET LOCAL lock_timeout = {int(self.busy_timeout_s * 1000)}")
                    await connection.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
                except Exception as exc:
                    if _is_busy(exc):
                        raise DatabaseBusyError(busy_message(self.busy_timeout_s)) from exc
                    raise
                yield PostgresTransaction(connection)
            except BaseException as exc:
                try:
                    await tx.rollback()
                except Exception:  # a connection lost mid-transaction: the server rolled it back; report the first error
                    pass
                if _is_busy(exc) and not isinstance(exc, DatabaseBusyError):
                    raise DatabaseBusyError(busy_message(self.busy_timeout_s)) from exc
                raise
            else:
                await tx.commit()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement in its own transaction; returns the number of rows it changed."""
        async with self.transaction() as tx:
            return (await tx.execute(sql, params)).rowcount

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._pool.fetchrow(translate_placeholders(sql), *_args(params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._pool.fetch(translate_placeholders(sql), *_args(params)))

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def schema_version(self) -> int:
        async with self._pool.acquire() as connection:
            return await current_version(connection)

    async def table_columns(self) -> dict[str, list[str]]:
        """Every Tunesmith table and its columns (for checks such as /forget-me's "no row left" test)."""
        rows = await self._pool.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"
        )
        tables: dict[str, list[str]] = {}
        for row in rows:
            tables.setdefault(row["table_name"], []).append(row["column_name"])
        return tables


async def current_version(connection: Any) -> int:
    if await connection.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def apply_migrations(connection: Any, migrations: list[Migration], target_version: int | None = None,
                           busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> list[int]:
    """Apply each pending migration in its own transaction (PostgreSQL's DDL is transactional); returns the versions
    applied. Each takes the migration advisory lock and re-reads the version under it, so processes starting at
    once apply each migration once."""
    import asyncpg

    target = migrations[-1].version if target_version is None and migrations else (target_version or 0)
    known = migrations[-1].version if migrations else 0
    found = await current_version(connection)
    if found > known:
        raise MigrationError(
            f"The database is at schema version {found}, newer than this Tunesmith knows ({known}); "
            "run the Tunesmith version that wrote it, or restore a backup."
        )
    applied: list[int] = []
    if found >= target:
        return applied
    for migration in migrations:
        if migration.version > target:
            break
        try:
            async with connection.transaction():
                await connection.execute(f"SET LOCAL lock_timeout = {int(busy_timeout_s * 1000)}")
                await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                if migration.version <= await current_version(connection):
                    continue
                for statement in migration.statements(POSTGRESQL):
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version, migration.name, utc_now(),
                )
        except asyncpg.PostgresError as exc:
            if _is_busy(exc):
                raise DatabaseBusyError(f"Another Tunesmith is migrating the database and held it over {busy_timeout_s:g} s; "
                                        "start this one again when it is done.") from exc
            raise MigrationError(f"Migration {migration.path.name} failed on PostgreSQL: {exc}") from exc
        applied.append(migration.version)
    return applied


__all__ = ["PostgresDatabase", "PostgresTransaction", "translate_placeholders", "is_postgres_url", "redact_url"]
