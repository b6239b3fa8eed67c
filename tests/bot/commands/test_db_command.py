"""`tunesmith db check | backup | restore`, run as the operator would, on a real database file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import Storage
from storage.database import discover_migrations
from tests.helpers.factories import new_track


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUNESMITH_DATABASE_BUSY_TIMEOUT_SECONDS", "TUNESMITH_BACKUP_INTERVAL_HOURS", "TUNESMITH_BACKUP_KEEP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path / "data"


def db(*args: str):
    return CliRunner().invoke(app, ["db", *args], terminal_width=400)


async def test_backup_then_restore_round_trips_the_data(data_dir: Path) -> None:
    database = data_dir / "tunesmith.sqlite3"
    async with await Storage.open(database, data_dir / "media") as storage:
        kept = await storage.tracks.add(new_track(prompt="kept"))
    result = db("backup")
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and str(data_dir / "backups") in result.output

    async with await Storage.open(database, data_dir / "media") as storage:
        lost = await storage.tracks.add(new_track(prompt="after the backup"))
    database.write_bytes(b"\0" * 4096)  # the file is destroyed
    check = db("check")
    assert check.exit_code == 1 and str(database) in check.output and "damaged" in check.output
    assert "tunesmith db restore" in check.output

    restore = db("restore")
    assert restore.exit_code == 0, restore.output
    assert "Restored" in restore.output and "before-restore" in restore.output
    assert db("check").exit_code == 0
    async with await Storage.open(database, data_dir / "media") as storage:
        assert (await storage.tracks.require(kept.id)).prompt == "kept"
        assert await storage.tracks.get(lost.id) is None


async def test_backup_to_a_named_file_and_restore_from_it(data_dir: Path, tmp_path: Path) -> None:
    database = data_dir / "tunesmith.sqlite3"
    async with await Storage.open(database, data_dir / "media") as storage:
        track = await storage.tracks.add(new_track(prompt="named"))
    target = tmp_path / "elsewhere" / "copy.sqlite3"
    assert db("backup", "--to", str(target)).exit_code == 0
    async with await Storage.open(database, data_dir / "media") as storage:
        await storage.tracks.add(new_track(prompt="later"))
    assert db("restore", str(target)).exit_code == 0
    async with await Storage.open(database, data_dir / "media") as storage:
        assert [t.id for t in await storage.tracks.for_guild(500)] == [track.id]


def test_clear_messages_without_a_database_or_a_backup(data_dir: Path) -> None:
    check = db("check")
    assert check.exit_code == 2 and "There is no database at" in check.output and "Traceback" not in check.output
    restore = db("restore")
    assert restore.exit_code == 2 and "There is no backup in" in restore.output


# PostgreSQL (database_url set): check reads it, backup is pg_dump's, restore says what to run instead.


@pytest.fixture
def pg_settings(data_dir: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUNESMITH_DATABASE_URL", postgres_url)
    return postgres_url


async def test_postgres_check_backup_and_restore_advice(pg_settings: str, data_dir: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    async with await Storage.open(pg_settings, data_dir / "media") as storage:
        await storage.tracks.add(new_track(prompt="on the server"))
    check = db("check")
    assert check.exit_code == 0, check.output
    latest = discover_migrations()[-1].version
    assert f"schema version {latest}" in check.output and "1 tracks" in check.output

    target = tmp_path / "dump" / "tunesmith.pgdump"
    backup = db("backup", "--to", str(target))
    if shutil.which("pg_dump") is None:
        assert backup.exit_code == 2 and "pg_dump" in backup.output and "Traceback" not in backup.output
    else:
        assert backup.exit_code == 0, backup.output
        assert target.is_file() and "pg_dump" in backup.output
        listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True)
        assert listing.returncode == 0 and "TABLE DATA public tracks" in listing.stdout

    restore = db("restore", str(target))
    assert restore.exit_code == 2
    assert "pg_restore --clean" in restore.output and str(target) in restore.output


def test_postgres_unreachable_is_a_message_not_a_traceback(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNESMITH_DATABASE_URL", "postgresql://tunesmith:secret@127.0.0.1:1/nowhere")
    result = db("check")
    assert result.exit_code == 2
    assert "Cannot reach the PostgreSQL database" in result.output and "secret" not in result.output
    assert "Traceback" not in result.output
