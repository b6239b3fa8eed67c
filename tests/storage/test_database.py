from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import open_database
from storage.database import MIGRATIONS_DIR, Database, MigrationError, discover_migrations, split_statements
from storage.postgres import PostgresDatabase, is_postgres_url
from tests.helpers.postgres import integrity_errors
from tests.helpers.factories import new_track

LATEST = len(discover_migrations())


def open_db(target: Path | str, **options) -> Database | PostgresDatabase:
    """Database.open or PostgresDatabase.open, by the target (the tests below run on both backends)."""
    return PostgresDatabase.open(target, **options) if is_postgres_url(target) else Database.open(target, **options)


async def test_pragmas_wal_foreign_keys_busy_timeout(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db.sqlite3") as db:
        assert await db.pragma("journal_mode") == "wal"
        assert await db.pragma("foreign_keys") == 1
        assert await db.pragma("busy_timeout") >= 1000
        assert await db.schema_version() == LATEST


def _new_file_with_its_write_lock_held(path: Path) -> sqlite3.Connection:
    """A new database file (rollback journal, as SQLite creates it) whose write lock another program holds: what a
    second shard process finds while the first is creating the schema."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE other_program (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO other_program VALUES (1)")
    return other


async def test_opening_waits_for_a_program_that_holds_a_new_file_s_write_lock(tmp_path: Path) -> None:
    # SQLite answers the switch to WAL with "database is locked" at once here, without its busy handler.
    path = tmp_path / "db.sqlite3"
    other = _new_file_with_its_write_lock_held(path)
    asyncio.get_running_loop().call_later(0.3, other.commit)
    try:
        async with await Database.open(path, busy_timeout_s=30) as db:
            assert await db.pragma("journal_mode") == "wal"
            assert await db.schema_version() == LATEST
    finally:
        other.close()


async def test_opening_a_new_file_held_past_the_busy_timeout_says_so(tmp_path: Path) -> None:
    from storage import DatabaseBusyError

    path = tmp_path / "db.sqlite3"
    other = _new_file_with_its_write_lock_held(path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(DatabaseBusyError, match=r"held by another program \(waited 0.5 s\)"):
            await Database.open(path, busy_timeout_s=0.5)
        assert loop.time() - started >= 0.4  # it did wait, as the message says
    finally:
        other.close()


async def test_there_are_several_migrations_numbered_consecutively() -> None:
    migrations = discover_migrations()
    assert len(migrations) >= 2
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


@pytest.mark.parametrize("start", range(0, LATEST))
async def test_upgrade_from_every_earlier_version_keeps_data(database_target: Path | str, tmp_path: Path, start: int) -> None:
    path = database_target
    if start:
        # Build a database at `start` with a user, a track and a rating written in that version's schema.
        async with await open_db(path, target_version=start) as old:
            assert await old.schema_version() == start
            await old.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (7, 'x', 'x')")
            await old.execute(
                "INSERT INTO tracks (id, user_id, style, mood, key, tempo, bars, seed, sampler, model_version, created_at)"
                " VALUES (1, 7, 'jazz', 'calm', 'C', 100, 8, 1, 'gan', 'v1', 'x')"
            )
            await old.execute("INSERT INTO ratings VALUES (7, 1, 4, 'x', 'x')")
    async with await open_db(path) as db:
        assert await db.schema_version() == LATEST
        applied = [r["version"] for r in await db.fetchall("SELECT version FROM schema_version ORDER BY version")]
        assert applied == list(range(1, LATEST + 1))
        if start:
            assert await db.fetchval("SELECT score FROM ratings WHERE user_id = 7 AND track_id = 1") == 4
        # The upgraded schema is exactly the schema of a fresh database.
        if is_postgres_url(path):
            assert await _pg_schema(db) == await _pg_fresh_schema(path)
        else:
            async with await Database.open(tmp_path / "fresh.sqlite3") as fresh:
                assert await _schema(db) == await _schema(fresh)


async def _schema(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [(r["name"], " ".join(r["sql"].split())) for r in rows]


async def _pg_schema(db: PostgresDatabase) -> list[tuple[str, ...]]:
    columns = await db.fetchall(
        "SELECT table_name, column_name, data_type, is_nullable, COALESCE(column_default, ''), is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, column_name"
    )
    indexes = await db.fetchall("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
    constraints = await db.fetchall(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"
    )
    return [tuple(r) for r in [*columns, *indexes, *constraints]]


async def _pg_fresh_schema(url: str) -> list[tuple[str, ...]]:
    """The schema of a fresh database on the same server (created beside the test's, then dropped)."""
    import asyncpg

    fresh = "fresh_" + url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{fresh}"')
        try:
            async with await PostgresDatabase.open(url.rsplit("/", 1)[0] + "/" + fresh) as db:
                return await _pg_schema(db)
        finally:
            await admin.execute(f'DROP DATABASE "{fresh}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_upgraded_database_accepts_new_columns(database_target: Path | str, tmp_path: Path) -> None:
    path = database_target
    async with await open_db(path, target_version=1):
        pass
    from storage import Storage

    async with await Storage.open(path, tmp_path / "media") as storage:
        track = await storage.tracks.add(new_track())
        assert (await storage.tracks.get(track.id)).tokens is not None


async def test_reopening_applies_nothing_twice(database_target: Path | str) -> None:
    path = database_target
    async with await open_db(path):
        pass
    async with await open_db(path) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM schema_version") == LATEST


async def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    """SQLite; test_postgres_failed_migration_leaves_previous_version is PostgreSQL's."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_initial.sql").write_text((MIGRATIONS_DIR / "0001_initial.sql").read_text())
    (migrations / "0002_broken.sql").write_text("CREATE TABLE half (x INTEGER);\nALTER TABLE no_such_table ADD COLUMN y;\n")
    path = tmp_path / "db.sqlite3"
    with pytest.raises(MigrationError, match="0002_broken.sql"):
        await Database.open(path, migrations_dir=migrations)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
        assert raw.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0


def test_misnamed_or_gapped_migrations_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="consecutive"):
        discover_migrations(tmp_path)
    (tmp_path / "0002 bad name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name"):
        discover_migrations(tmp_path)


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    script = """
    -- a comment
    CREATE TABLE a (x);
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 1;
        UPDATE a SET x = 2;
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


async def test_transaction_rolls_back_on_error(database_target: Path | str) -> None:
    async with await open_db(database_target) as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (1, 'x', 'x')")
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_foreign_keys_are_enforced(database_target: Path | str) -> None:
    async with await open_db(database_target) as db:
        with pytest.raises(integrity_errors(), match="(?i)FOREIGN KEY"):
            await db.execute("INSERT INTO ratings VALUES (1, 999, 5, 'x', 'x')")


async def test_database_from_a_newer_tunesmith_is_refused(database_target: Path | str) -> None:
    path = database_target
    async with await open_db(path) as db:
        await db.execute("INSERT INTO schema_version VALUES (?, 'from_the_future', 'x')", (LATEST + 1,))
    with pytest.raises(MigrationError, match=f"schema version {LATEST + 1}, newer than this Tunesmith knows"):
        await open_db(path)


# PostgreSQL only: what has no SQLite counterpart above.


async def test_postgres_failed_migration_leaves_previous_version(postgres_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_initial.sql").write_text((MIGRATIONS_DIR / "0001_initial.sql").read_text())
    (migrations / "0002_broken.sql").write_text("CREATE TABLE half (x INTEGER);\nALTER TABLE no_such_table ADD COLUMN y TEXT;\n")
    with pytest.raises(MigrationError, match="0002_broken.sql"):
        await PostgresDatabase.open(postgres_url, migrations_dir=migrations)
    async with await PostgresDatabase.open(postgres_url, target_version=1) as db:
        assert await db.schema_version() == 1
        assert await db.fetchval("SELECT to_regclass('half')") is None  # DDL is transactional: no half-applied migration


async def test_postgres_processes_opening_at_once_apply_each_migration_once(postgres_url: str) -> None:
    import asyncio

    opened = await asyncio.gather(*(PostgresDatabase.open(postgres_url, min_size=1, max_size=2) for _ in range(6)))
    try:
        rows = await opened[0].fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, LATEST + 1))
    finally:
        for db in opened:
            await db.close()


async def test_postgres_columns_hold_discord_ids_doubles_and_bytes(postgres_url: str, tmp_path: Path) -> None:
    from storage import Storage

    async with await Storage.open(postgres_url, tmp_path / "media") as storage:
        big = 987654321012345678  # beyond PostgreSQL's 32-bit INTEGER: the mapping made it BIGINT
        track = await storage.tracks.add(new_track(user_id=big, guild_id=big, tempo=96.123456789))
        again = await storage.tracks.require(track.id)
        assert (again.user_id, again.guild_id, again.tempo) == (big, big, 96.123456789)  # DOUBLE PRECISION, not float4
        assert again.latent is not None and again.latent.tolist() == track.latent.tolist()
        # The implicit rowid SQLite gives model_versions is a real column here, in insertion order.
        for version in ("b", "a", "c"):
            await storage.models.register(version, f"/{version}.pt")
        rowids = [r["rowid"] for r in await storage.db.fetchall("SELECT rowid FROM model_versions ORDER BY version")]
        assert len(set(rowids)) == 3


async def test_postgres_write_lock_held_too_long_is_busy(postgres_url: str) -> None:
    import asyncpg

    from storage import DatabaseBusyError
    from storage.postgres import WRITE_LOCK_KEY

    async with await PostgresDatabase.open(postgres_url, busy_timeout_s=0.3) as db:
        other = await asyncpg.connect(postgres_url)  # another bot process, in the middle of a long transaction
        try:
            await other.execute("BEGIN")
            await other.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
            with pytest.raises(DatabaseBusyError, match="Nothing was lost"):
                await db.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (1, 'x', 'x')")
            await other.execute("ROLLBACK")
        finally:
            await other.close()
        assert await db.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (1, 'x', 'x')") == 1


async def test_postgres_unreachable_server_names_it_without_the_password() -> None:
    from storage import DatabaseOpenError

    with pytest.raises(DatabaseOpenError) as raised:
        await open_database("postgresql://bot:hunter2@127.0.0.1:1/tunesmith", busy_timeout_s=2)
    message = str(raised.value)
    assert "127.0.0.1:1/tunesmith" in message and "hunter2" not in message and "database_url" in message


def test_placeholders_are_translated_outside_strings_and_comments() -> None:
    from storage.postgres import translate_placeholders

    sql = "SELECT '?', \"a?\" FROM t -- why?\nWHERE a = ? AND b IN (?, ?) /* ? */ AND c = 'it''s ?'"
    assert translate_placeholders(sql) == "SELECT '?', \"a?\" FROM t -- why?\nWHERE a = $1 AND b IN ($2, $3) /* ? */ AND c = 'it''s ?'"


def test_migration_ddl_is_mapped_for_postgres() -> None:
    from storage.dialect import postgres_ddl

    assert postgres_ddl("CREATE TABLE t (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    x REAL, b BLOB\n);") == (
        "CREATE TABLE t (\n    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    x DOUBLE PRECISION, b BYTEA\n);"
    )
    assert postgres_ddl("CREATE TABLE r (a INTEGER, PRIMARY KEY (a)\n) WITHOUT ROWID;") == "CREATE TABLE r (a BIGINT, PRIMARY KEY (a)\n)"
    # A table SQLite gives an implicit rowid gets a real one.
    assert "rowid BIGINT GENERATED ALWAYS AS IDENTITY" in postgres_ddl("CREATE TABLE v (version TEXT PRIMARY KEY);")
    assert postgres_ddl("ALTER TABLE tracks ADD COLUMN tokens BLOB;") == "ALTER TABLE tracks ADD COLUMN tokens BYTEA;"


def test_a_postgresql_variant_file_replaces_its_migration_there(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0001_a.postgresql.sql").write_text("CREATE TABLE a (x BIGINT, y JSONB);")
    (migration,) = discover_migrations(tmp_path)
    assert migration.statements("sqlite") == ["CREATE TABLE a (x INTEGER);"]
    assert migration.statements("postgresql") == ["CREATE TABLE a (x BIGINT, y JSONB);"]
    (tmp_path / "0002_orphan.postgresql.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="has no 0002_orphan.sql"):
        discover_migrations(tmp_path)


async def test_a_transaction_cancelled_while_it_begins_leaves_the_database_usable(tmp_path: Path) -> None:
    """A task cancelled at shutdown while its BEGIN is on the database's thread: the BEGIN still runs there, so it
    must be ended, or every later transaction fails ("cannot start a transaction within a transaction")."""
    import asyncio

    async with await Database.open(tmp_path / "t.db") as db:
        await db.execute("CREATE TABLE cancelled_writes (x INTEGER)")
        entered = False

        async def write() -> None:
            nonlocal entered
            async with db.transaction() as tx:
                entered = True
                await tx.execute("INSERT INTO cancelled_writes (x) VALUES (1)")

        for _ in range(5):
            task = asyncio.create_task(write())
            await asyncio.sleep(0)  # the task takes the lock and waits on BEGIN
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert not entered
        assert await db.execute("INSERT INTO cancelled_writes (x) VALUES (2)") == 1
        assert await db.fetchval("SELECT COUNT(*) FROM cancelled_writes") == 1
