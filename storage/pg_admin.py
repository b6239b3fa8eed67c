"""`tunesmith db check | backup | restore` on PostgreSQL: what the SQLite file tools become on a server.

* check: connects without migrating or writing, and reports the schema version and the tracks, as for SQLite.
  The server keeps its own data consistent (foreign keys are always enforced); damage to its files is the
  server's to find (`pg_amcheck`).
* backup: `pg_dump --format=custom` into a file, when pg_dump is installed (Debian: postgresql-client).
* restore: not done by Tunesmith (it would replace a database other bot processes may be using); the
  message gives the `pg_restore` command instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from storage.backup import CheckReport
from storage.database import DatabaseOpenError
from storage.postgres import redact_url

DUMP_SUFFIX = ".pgdump"


def check_postgres(url: str) -> CheckReport:
    """What the database at `url` holds, read without changing it; DatabaseOpenError when it cannot be reached."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_check(url))
    with ThreadPoolExecutor(1) as pool:  # called from async code (tests): a loop of its own, in a thread
        return pool.submit(asyncio.run, _check(url)).result()


async def _check(url: str) -> CheckReport:
    import asyncpg

    report = CheckReport(Path(redact_url(url)))
    try:
        connection = await asyncpg.connect(url, timeout=30)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseOpenError(f"Cannot reach the PostgreSQL database {redact_url(url)} ({type(exc).__name__}: {exc}). "
                                "Check database_url and that the server is running.") from exc
    try:
        if await connection.fetchval("SELECT to_regclass('schema_version')") is None:
            report.problems.append("it has no Tunesmith schema (no schema_version table): start the bot once to create it")
            return report
        report.schema_version = int(await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
        if await connection.fetchval("SELECT to_regclass('tracks')") is not None:
            report.tracks = int(await connection.fetchval("SELECT COUNT(*) FROM tracks"))
        unchecked = await connection.fetch(
            "SELECT conrelid::regclass::text AS table_name, conname FROM pg_constraint "
            "WHERE NOT convalidated AND connamespace = current_schema()::regnamespace"
        )
        report.problems += [f"constraint {r['conname']} of table {r['table_name']} is not validated" for r in unchecked]
    except asyncpg.PostgresError as exc:
        report.problems.append(f"PostgreSQL refused a check query: {exc}")
    finally:
        await connection.close()
    return report


def _without_password(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that passes the password to libpq's tools instead
    (so it is not on a command line other users can read)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is None:
        return url, env
    env["PGPASSWORD"] = parts.password
    netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), env


def dump_postgres(url: str, target: Path | None, folder: Path) -> Path:
    """`pg_dump --format=custom` of the database into `target` (default: a new file in `folder`).
    DatabaseOpenError, with a message for the operator, when pg_dump is missing or fails."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise DatabaseOpenError("On PostgreSQL, backups are taken with pg_dump, which is not installed here "
                                "(Debian: apt-get install postgresql-client). Or use your database provider's backups.")
    if target is None:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"tunesmith-{datetime.now(UTC):%Y%m%d-%H%M%S}{DUMP_SUFFIX}"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    dbname, env = _without_password(url)
    result = subprocess.run([pg_dump, "--format=custom", f"--file={partial}", f"--dbname={dbname}"],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DatabaseOpenError(f"pg_dump could not back up {redact_url(url)}: {detail[-1] if detail else 'exit status ' + str(result.returncode)}")
    os.replace(partial, target)
    return target


def restore_instructions(url: str, backup: Path | None) -> str:
    file = str(backup) if backup is not None else f"<backup{DUMP_SUFFIX}>"
    return ("On PostgreSQL, Tunesmith does not restore the database itself (other bot processes may be using it). "
            f"Stop every bot process, then run: pg_restore --clean --if-exists --no-owner --dbname={redact_url(url)} {file}")


__all__ = ["check_postgres", "dump_postgres", "restore_instructions", "DUMP_SUFFIX"]
