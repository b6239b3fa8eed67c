"""A real PostgreSQL server for the tests: started once per test session, one fresh database per test.

The server is Debian's `postgresql` package (`make test` installs it; binaries under /usr/lib/postgresql/N/bin).
It runs in a temporary folder on a free port of 127.0.0.1, with trust authentication for a `tunesmith`
superuser. PostgreSQL refuses to run as root, so when the tests run as root (CI containers) the server runs as
the `postgres` system user the package creates.

Missing binaries fail the PostgreSQL tests, so CI cannot silently skip them; set TUNESMITH_SKIP_POSTGRES=1 to
skip them instead on a machine without PostgreSQL. TUNESMITH_PG_BINDIR names the binaries' folder when it is
somewhere unusual.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

SKIP_ENV = "TUNESMITH_SKIP_POSTGRES"
SUPERUSER = "tunesmith"


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl, or None."""
    candidates = [os.environ.get("TUNESMITH_PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    folder: Path
    port: int
    run_as: dict[str, Any]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True, timeout=120,
                                cwd=self.folder, **self.run_as)
        if result.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-3000:] if (self.folder / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}{result.stderr}\n{log}")
        return result

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                   "-c max_connections=200 -c shared_buffers=32MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        message = ("PostgreSQL's binaries (initdb, pg_ctl) are not installed: `apt-get install postgresql` "
                   f"(make test does), or set {SKIP_ENV}=1 to skip the PostgreSQL tests.")
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    root = os.geteuid() == 0
    # As root, the server runs as `postgres`, which must reach the folder: /tmp, not a TMPDIR under /root.
    folder = Path(tempfile.mkdtemp(prefix="tunesmith-pg-", dir="/tmp" if root and Path("/tmp").is_dir() else None))
    run_as: dict[str, Any] = {}
    if root:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("Running as root, PostgreSQL needs the `postgres` system user (Debian's postgresql package creates it).", pytrace=False)
        os.chown(folder, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    os.chmod(folder, 0o700)
    server = PostgresServer(bindir, folder, _free_port(), run_as)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (started on first use)."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


_numbers = itertools.count(1)


@pytest_asyncio.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    import asyncpg

    name = f"tunesmith_test_{os.getpid()}_{next(_numbers)}"
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield postgres_server.url(name)
    finally:
        admin = await asyncpg.connect(postgres_server.url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's database lives, once per backend: a SQLite file's path, or a fresh PostgreSQL database's URL."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return tmp_path / "tunesmith.sqlite3"


def integrity_errors() -> tuple[type[BaseException], ...]:
    """What a constraint violation raises, on either backend."""
    import sqlite3

    import asyncpg

    return (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


__all__ = ["PostgresServer", "start_server", "find_bindir", "BACKENDS", "integrity_errors"]
