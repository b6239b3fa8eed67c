"""`tunesmith media prune`, run as the operator would, on a real data folder."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import Storage
from tests.helpers.factories import new_track


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUNESMITH_MEDIA_RETENTION_DAYS", "TUNESMITH_DATABASE_BUSY_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)  # no tunesmith.toml of the developer's
    return tmp_path / "data"


def media(*args: str):
    return CliRunner().invoke(app, ["media", *args], terminal_width=400)


async def _old_track(data_dir: Path) -> tuple[int, str]:
    async with await Storage.open(data_dir / "tunesmith.sqlite3", data_dir / "media") as storage:
        path = storage.media.put(b"an old render", ".mp3")
        track = await storage.tracks.add(new_track(mp3_path=path))
        old = datetime.now(UTC) - timedelta(days=45)
        await storage.db.execute("UPDATE tracks SET created_at = ? WHERE id = ?", (old.isoformat(), track.id))
        os.utime(storage.media.path_for(path), (time.time() - 45 * 86400,) * 2)
    return track.id, path


async def _pruned_at(data_dir: Path, track_id: int) -> object:
    async with await Storage.open(data_dir / "tunesmith.sqlite3", data_dir / "media") as storage:
        return (await storage.tracks.require(track_id)).media_pruned_at


def test_prune_deletes_old_files_and_a_dry_run_only_reports(data_dir: Path) -> None:
    track_id, path = asyncio.run(_old_track(data_dir))
    run = data_dir / "models" / "20260101-000000"  # a rejected retrain run
    run.mkdir(parents=True)
    (run / "model.pt").write_bytes(b"x" * 2048)
    os.utime(run / "model.pt", (time.time() - 45 * 86400,) * 2)
    os.utime(run, (time.time() - 45 * 86400,) * 2)

    dry = media("prune", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would delete" in dry.output and "1 track(s) pruned: 1 media file(s)" in dry.output and "1 rejected retrain run(s)" in dry.output
    assert (data_dir / "media" / path).exists() and run.exists()

    kept = media("prune", "--days", "60")
    assert kept.exit_code == 0 and "0 track(s) pruned" in kept.output, kept.output

    done = media("prune")
    assert done.exit_code == 0 and "Deleted files older than 30 days: 1 track(s) pruned" in done.output, done.output
    assert not (data_dir / "media" / path).exists() and not run.exists()
    assert asyncio.run(_pruned_at(data_dir, track_id)) is not None
