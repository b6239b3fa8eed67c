from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.database import MIGRATIONS_DIR, Database, MigrationError, discover_migrations, split_statements
from tests.helpers.factories import new_track

LATEST = len(discover_migrations())


async def test_pragmas_wal_foreign_keys_busy_timeout(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db.sqlite3") as db:
        assert await db.pragma("journal_mode") == "wal"
        assert await db.pragma("foreign_keys") == 1
        assert await db.pragma("busy_timeout") >= 1000
        assert await db.schema_version() == LATEST


async def test_there_are_several_migrations_numbered_consecutively() -> None:
    migrations = discover_migrations()
    assert len(migrations) >= 2
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


@pytest.mark.parametrize("start", range(0, LATEST))
async def test_upgrade_from_every_earlier_version_keeps_data(tmp_path: Path, start: int) -> None:
    path = tmp_path / "db.sqlite3"
    if start:
        # Build a database at `start` with a user, a track and a rating written in that version's schema.
        async with await Database.open(path, target_version=start) as old:
            assert await old.schema_version() == start
            await old.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (7, 'x', 'x')")
            await old.execute(
                "INSERT INTO tracks (id, user_id, style, mood, key, tempo, bars, seed, sampler, model_version, created_at)"
                " VALUES (1, 7, 'jazz', 'calm', 'C', 100, 8, 1, 'gan', 'v1', 'x')"
            )
            await old.execute("INSERT INTO ratings VALUES (7, 1, 4, 'x', 'x')")
    async with await Database.open(path) as db:
        assert await db.schema_version() == LATEST
        applied = [r["version"] for r in await db.fetchall("SELECT version FROM schema_version ORDER BY version")]
        assert applied == list(range(1, LATEST + 1))
        if start:
            assert await db.fetchval("SELECT score FROM ratings WHERE user_id = 7 AND track_id = 1") == 4
        # The upgraded schema is exactly the schema of a fresh database.
        async with await Database.open(tmp_path / "fresh.sqlite3") as fresh:
            assert await _schema(db) == await _schema(fresh)


async def _schema(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
    return [(r["name"], " ".join(r["sql"].split())) for r in rows]


async def test_upgraded_database_accepts_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Database.open(path, target_version=1):
        pass
    from storage import Storage

    async with await Storage.open(path, tmp_path / "media") as storage:
        track = await storage.tracks.add(new_track())
        assert (await storage.tracks.get(track.id)).tokens is not None


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Database.open(path):
        pass
    async with await Database.open(path) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM schema_version") == LATEST


async def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
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


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db.sqlite3") as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (1, 'x', 'x')")
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db.sqlite3") as db:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute("INSERT INTO ratings VALUES (1, 999, 5, 'x', 'x')")


async def test_database_from_a_newer_tunesmith_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with await Database.open(path) as db:
        await db.execute("INSERT INTO schema_version VALUES (?, 'from_the_future', 'x')", (LATEST + 1,))
    with pytest.raises(MigrationError, match=f"schema version {LATEST + 1}, newer than this Tunesmith knows"):
        await Database.open(path)
