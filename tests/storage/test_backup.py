"""Database check, online backup, restore and backup retention."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from storage import DatabaseCorruptError, DatabaseOpenError, Storage
from storage.backup import (
    AUTOMATIC_PREFIX, BackupSchedule, backup_database, check_database, list_backups, prune_backups, restore_database,
    take_backup,
)  # fmt: skip
from tests.helpers.factories import new_track


def damage(path: Path) -> None:
    """Overwrite the middle of the file (its table pages) with junk, as a failing disk would."""
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start : start + 8192] = b"\xa5" * min(8192, len(data) - start)
    path.write_bytes(bytes(data))


async def test_backup_of_an_open_database_then_restore_over_a_damaged_one_round_trips(tmp_path: Path) -> None:
    db_path, media = tmp_path / "tunesmith.sqlite3", tmp_path / "media"
    async with await Storage.open(db_path, media) as storage:
        track = await storage.tracks.add(new_track(prompt="rainy night"))
        await storage.ratings.set(7, track.id, 4)
        backup = take_backup(db_path, tmp_path / "backups")  # while the bot's connections are open
        await storage.ratings.set(8, track.id, 2)  # after the backup: not in it
    assert check_database(backup).ok and check_database(backup).tracks == 1

    db_path.write_bytes(b"this is not a database" * 100)
    assert not check_database(db_path).ok
    kept = restore_database(backup, db_path)
    assert kept is not None and kept.read_bytes().startswith(b"this is not a database")

    async with await Storage.open(db_path, media) as storage:
        restored = await storage.tracks.require(track.id)
        assert restored.prompt == "rainy night"
        assert [(r.user_id, r.score) for r in await storage.ratings.for_track(track.id)] == [(7, 4)]


async def test_check_finds_damaged_pages_and_names_them(tmp_path: Path) -> None:
    db_path = tmp_path / "tunesmith.sqlite3"
    async with await Storage.open(db_path, tmp_path / "media") as storage:
        for i in range(300):
            await storage.tracks.add(new_track(prompt=f"piece {i}" * 20))
    assert check_database(db_path).ok
    damage(db_path)
    report = check_database(db_path)
    assert not report.ok and report.problems


def test_missing_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseOpenError, match=str(tmp_path / "none.sqlite3")):
        check_database(tmp_path / "none.sqlite3")
    with pytest.raises(DatabaseOpenError, match="There is no database"):
        backup_database(tmp_path / "none.sqlite3", tmp_path / "copy.sqlite3")


async def test_a_damaged_backup_is_refused_and_the_database_left_alone(tmp_path: Path) -> None:
    db_path = tmp_path / "tunesmith.sqlite3"
    async with await Storage.open(db_path, tmp_path / "media") as storage:
        await storage.tracks.add(new_track())
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"junk" * 1000)
    before = db_path.read_bytes()
    with pytest.raises(DatabaseCorruptError, match="bad.sqlite3 is damaged"):
        restore_database(bad, db_path)
    assert db_path.read_bytes() == before


async def test_automatic_backups_keep_the_newest_and_never_delete_manual_ones(tmp_path: Path) -> None:
    db_path, folder = tmp_path / "tunesmith.sqlite3", tmp_path / "backups"
    async with await Storage.open(db_path, tmp_path / "media"):
        pass
    manual = take_backup(db_path, folder)
    automatic = []
    for age in (400, 300, 200, 100):
        path = take_backup(db_path, folder, automatic=True)
        os.utime(path, (time.time() - age, time.time() - age))  # as if taken `age` seconds ago
        automatic.append(path)
    assert prune_backups(folder, keep=2) == [automatic[1], automatic[0]]
    assert list_backups(folder, automatic_only=True) == [automatic[3], automatic[2]]
    assert manual.exists()


async def test_schedule_is_due_at_once_without_backups_and_after_the_interval_otherwise(tmp_path: Path) -> None:
    db_path, folder = tmp_path / "tunesmith.sqlite3", tmp_path / "backups"
    async with await Storage.open(db_path, tmp_path / "media"):
        pass
    schedule = BackupSchedule(db_path, folder, interval_s=3600, keep=3)
    assert schedule.due_in() == 0
    fresh = take_backup(db_path, folder, automatic=True)
    assert schedule.due_in() > 3000
    os.utime(fresh, (time.time() - 7200, time.time() - 7200))
    assert schedule.due_in() == 0
    assert fresh.name.startswith(AUTOMATIC_PREFIX)


async def test_a_failing_backup_is_logged_and_the_schedule_keeps_running(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import logging

    schedule = BackupSchedule(tmp_path / "gone.sqlite3", tmp_path / "backups", interval_s=3600, keep=3)
    with caplog.at_level(logging.ERROR, logger="storage.backup"):
        task = asyncio.create_task(schedule.run())
        while not any("Online backup of the database failed" in r.getMessage() for r in caplog.records):
            assert not task.done(), task
            await asyncio.sleep(0.02)
    assert not task.done()  # waiting to try again, not dead
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
