"""The media retention policy (storage.retention): old tracks lose their files but keep their notes; files another
track still names stay; rejected retrain runs go, models the bot may still load stay; a dry run changes nothing."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Storage
from storage.retention import prune_media
from storage.taste import TasteModelRepository
from tests.helpers.factories import new_track

DAY = 86400.0


async def old_track(storage: Storage, days: float, content: bytes, **overrides):
    midi, mp3, png = (storage.media.put(content + suffix.encode(), suffix) for suffix in (".mid", ".mp3", ".png"))
    track = await storage.tracks.add(new_track(midi_path=midi, mp3_path=mp3, png_path=png, **overrides))
    when = datetime.now(UTC) - timedelta(days=days)
    await storage.db.execute("UPDATE tracks SET created_at = ? WHERE id = ?", (when.isoformat(timespec="microseconds"), track.id))
    for path in (midi, mp3, png):
        os.utime(storage.media.path_for(path), (time.time() - days * DAY, time.time() - days * DAY))
    return track


def age(path: Path, days: float) -> None:
    for item in [path, *path.rglob("*")]:
        os.utime(item, (time.time() - days * DAY, time.time() - days * DAY))


async def test_old_tracks_lose_their_files_but_not_their_notes(storage: Storage) -> None:
    old = await old_track(storage, 40, b"old")
    fresh = await old_track(storage, 2, b"fresh")
    shared_old = await old_track(storage, 40, b"shared")
    shared_new = await old_track(storage, 1, b"shared")  # identical renders: the same files
    no_notes = await old_track(storage, 40, b"no notes", tokens=None)

    report = await prune_media(storage.db, storage.media, retention_days=30)
    assert report.tracks_pruned == 2 and report.files_deleted == 3 and report.media_bytes_freed > 0

    pruned = await storage.tracks.require(old.id)
    assert (pruned.midi_path, pruned.mp3_path, pruned.png_path) == (None, None, None) and pruned.media_pruned_at is not None
    assert pruned.tokens is not None and pruned.latent is not None  # what every button and a re-render need
    assert not any(storage.media.exists(p) for p in (old.midi_path, old.mp3_path, old.png_path))
    for kept in (fresh, shared_new, no_notes):
        again = await storage.tracks.require(kept.id)
        assert again.media_pruned_at is None and all(storage.media.exists(p) for p in (again.midi_path, again.mp3_path, again.png_path))
    assert (await storage.tracks.require(shared_old.id)).media_pruned_at is not None
    assert all(storage.media.exists(p) for p in (shared_new.midi_path, shared_new.mp3_path, shared_new.png_path))  # still named by the new track

    again = await prune_media(storage.db, storage.media, retention_days=30)
    assert again.tracks_pruned == 0 and again.files_deleted == 0


async def test_a_dry_run_changes_nothing(storage: Storage) -> None:
    old = await old_track(storage, 40, b"old")
    report = await prune_media(storage.db, storage.media, retention_days=30, dry_run=True)
    assert report.tracks_pruned == 1 and report.files_deleted == 3
    track = await storage.tracks.require(old.id)
    assert track.media_pruned_at is None and all(storage.media.exists(p) for p in (track.midi_path, track.mp3_path, track.png_path))


async def test_reused_content_is_not_taken_from_a_track_being_stored(storage: Storage) -> None:
    """A new track whose render equals a pruned track's: put() refreshes the file, so a sweep between writing the
    files and storing the row keeps them."""
    old = await old_track(storage, 40, b"same")
    await prune_media(storage.db, storage.media, retention_days=30)
    assert not storage.media.exists(old.midi_path)
    path = storage.media.put(b"same.mid", ".mid")
    other = storage.media.path_for(path)
    os.utime(other, (time.time() - 40 * DAY, time.time() - 40 * DAY))
    again = storage.media.put(b"same.mid", ".mid")  # reused by a track not stored yet
    await prune_media(storage.db, storage.media, retention_days=30)
    assert storage.media.exists(again)


async def test_rejected_retrain_runs_go_and_loadable_models_stay(storage: Storage, tmp_path: Path) -> None:
    models = tmp_path / "models"
    runs = {name: models / name for name in ("20260101-000000", "20260102-000000", "20260103-000000",
                                              "taste-7-20260104-000000", "taste-7-20260105-000000", "taste-7-20260106-000000")}
    for run in runs.values():
        run.mkdir(parents=True)
        (run / "model.pt").write_bytes(b"x" * 1000)
        (run / "ratings.npz").write_bytes(b"y" * 100)
    await storage.models.register("v2", str(runs["20260101-000000"] / "model.pt"))  # promoted once: rollback may need it
    tastes = TasteModelRepository(storage.db)
    await tastes.register(7, "t1", str(runs["taste-7-20260104-000000"] / "model.pt"), "v2", {"promote": True})
    await tastes.register(7, "t2", str(runs["taste-7-20260105-000000"] / "model.pt"), "v2", {"promote": False})
    for run in runs.values():
        age(run, 40)
    age(runs["20260103-000000"], 3)  # a recent rejected run stays until the period is over
    (models / "notes.txt").write_text("not a run")

    report = await prune_media(storage.db, storage.media, retention_days=30, models_dir=models)
    assert report.retrain_runs_deleted == 3 and report.retrain_bytes_freed == 3300
    assert {p.name for p in models.iterdir()} == {"20260101-000000", "20260103-000000", "taste-7-20260104-000000", "notes.txt"}


async def test_the_sweep_drops_interaction_tokens_discord_no_longer_accepts(storage: Storage) -> None:
    job = await storage.jobs.create("compose", {}, user_id=1, application_id=2, interaction_token="secret")
    await storage.jobs.mark_interrupted_on_startup()
    await storage.db.execute("UPDATE jobs SET created_at = ? WHERE id = ?", ((datetime.now(UTC) - timedelta(minutes=20)).isoformat(), job.id))
    running = await storage.jobs.create("compose", {}, user_id=1, application_id=2, interaction_token="in flight")
    report = await prune_media(storage.db, storage.media, retention_days=30)
    assert report.tokens_dropped == 1
    assert (await storage.jobs.get(job.id)).interaction_token is None
    assert (await storage.jobs.get(running.id)).interaction_token == "in flight"
