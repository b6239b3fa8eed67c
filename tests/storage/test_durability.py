from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from storage import Storage
from tests.helpers.factories import new_track

WRITER = Path(__file__).with_name("rating_writer.py")
REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_sigkilled_writer_loses_no_acknowledged_rating(database_target: Path | str, tmp_path: Path) -> None:
    db, media = database_target, tmp_path / "media"
    async with await Storage.open(db, media) as storage:
        track = await storage.tracks.add(new_track())

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, str(WRITER), str(db), str(media), str(track.id)], stdout=subprocess.PIPE, text=True, env=env)
    acknowledged: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) >= 60:
                break
        # Killed mid-stream: it is writing the next ratings right now.
        child.send_signal(signal.SIGKILL)
        # Lines already in the pipe were acknowledged too.
        remaining, _ = child.communicate(timeout=30)
        acknowledged += [int(line) for line in remaining.split()]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 60

    async with await Storage.open(db, media) as storage:
        stored = {r.user_id for r in await storage.ratings.for_track(track.id)}
    missing = sorted(set(acknowledged) - stored)
    assert missing == []


async def test_hundred_concurrent_writers_never_see_database_is_locked(database_target: Path | str, tmp_path: Path) -> None:
    db, media = database_target, tmp_path / "media"
    async with await Storage.open(db, media) as storage:
        tracks = [await storage.tracks.add(new_track()) for _ in range(5)]

    async def writer(user_id: int) -> int:
        # Each writer has connections of its own, like separate processes sharing the file.
        async with await Storage.open(db, media) as own:
            for track in tracks:
                await own.ratings.set(user_id, track.id, 1 + (user_id + track.id) % 5)
        return user_id

    results = await asyncio.gather(*(writer(user_id) for user_id in range(1, 101)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []

    async with await Storage.open(db, media) as storage:
        assert await storage.ratings.count() == 100 * len(tracks)
        assert await storage.db.fetchval("SELECT COUNT(*) FROM users") == 100 + 1


async def test_concurrent_writes_through_one_storage_are_serialised(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await asyncio.gather(*(storage.ratings.set(user_id, track.id, 3) for user_id in range(200)))
    assert (await storage.ratings.summary(track.id)).count == 200
