"""The media retention policy: rendered files of old tracks and the artifacts of rejected retrains are deleted
after `media_retention_days`; what is needed to make them again is kept.

A track's MIDI, MP3 and picture (about 640 KB a track) are deleted once the track is older than the retention
period. Its notes (tokens), latent and recipe stay in the database, so every button keeps working (they start
from the notes and the latent, not from files) and the files can be rendered again, identically, by replaying
the recipe (bot.media_restore). Tracks without stored notes keep their files.

A retrain run's folder in the models folder (about 18 MB) is deleted once it is older than the retention period
and holds nothing the bot may still load: no registered shared model version (each can be rolled back to),
and no taste model that is active, was promoted, or is the one a rollback returns to.

Files are deleted only after the database stops naming them, and only when older than the retention period
(the media store refreshes a file's time when a new track reuses it), so a track being stored as the sweep
runs never loses its files. A crash halfway leaves unreferenced files, which the next sweep deletes.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import codec
from storage.database import Database
from storage.media import MediaStore

RUN_FOLDER = re.compile(r"^(taste-\d+-)?\d{8}-\d{6}$")  # what /retrain writes into the models folder
TOKEN_LIFETIME = timedelta(minutes=15)  # Discord's, for interaction tokens


@dataclass(frozen=True)
class PruneReport:
    tracks_pruned: int = 0
    files_deleted: int = 0
    media_bytes_freed: int = 0
    retrain_runs_deleted: int = 0
    retrain_bytes_freed: int = 0
    tokens_dropped: int = 0

    def summary(self) -> str:
        mb = 1024 * 1024
        return (f"{self.tracks_pruned} track(s) pruned: {self.files_deleted} media file(s), {self.media_bytes_freed / mb:.1f} MB; "
                f"{self.retrain_runs_deleted} rejected retrain run(s), {self.retrain_bytes_freed / mb:.1f} MB")


async def prune_media(db: Database, media: MediaStore, *, retention_days: float, models_dir: Path | None = None,
                      now: datetime | None = None, dry_run: bool = False) -> PruneReport:
    """Apply the retention policy once (see the module's text). `dry_run`: change nothing, report what would go."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    rows = await db.fetchall(
        """
        SELECT id FROM tracks
        WHERE created_at < ? AND media_pruned_at IS NULL AND tokens IS NOT NULL
          AND (midi_path IS NOT NULL OR mp3_path IS NOT NULL OR png_path IS NOT NULL)
        ORDER BY id
        """,
        (cutoff.isoformat(timespec="microseconds"),),
    )
    ids = [r["id"] for r in rows]
    if not dry_run and ids:
        async with db.transaction() as tx:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                await tx.execute(
                    f"UPDATE tracks SET midi_path = NULL, mp3_path = NULL, png_path = NULL, media_pruned_at = ? WHERE id IN ({', '.join('?' * len(chunk))})",
                    (now.isoformat(timespec="microseconds"), *chunk),
                )
    # A dry run left the rows as they were: the tracks it would prune do not count as referencing their files.
    would_prune = set(ids) if dry_run else set()
    referenced = {
        path
        for row in await db.fetchall("SELECT id, midi_path, mp3_path, png_path FROM tracks")
        if row["id"] not in would_prune
        for path in (row["midi_path"], row["mp3_path"], row["png_path"])
        if path
    }
    files, freed = _delete_unreferenced(media, referenced, cutoff, dry_run)
    runs, run_bytes = (0, 0) if models_dir is None else _delete_rejected_runs(models_dir, await _kept_model_paths(db), cutoff, dry_run)
    dropped = 0
    if not dry_run:  # interaction tokens Discord no longer accepts (of jobs left interrupted, say) are secrets kept for nothing
        dropped = await db.execute(
            "UPDATE jobs SET interaction_token = NULL WHERE interaction_token IS NOT NULL AND created_at < ? AND status NOT IN ('queued', 'running')",
            ((now - TOKEN_LIFETIME).isoformat(timespec="microseconds"),),
        )
    return PruneReport(len(ids), files, freed, runs, run_bytes, dropped)


def _delete_unreferenced(media: MediaStore, referenced: set[str], cutoff: datetime, dry_run: bool) -> tuple[int, int]:
    """Media-store files no track names, last written before the cutoff."""
    count = freed = 0
    root = media.root
    if not root.is_dir():
        return 0, 0
    limit = cutoff.timestamp()
    for fan in root.iterdir():
        if not fan.is_dir() or len(fan.name) != 2:
            continue
        for path in fan.iterdir():
            relative = f"{fan.name}/{path.name}"
            if path.name.startswith(".") or relative in referenced:
                continue
            try:
                stat = path.stat()
                if stat.st_mtime >= limit:
                    continue
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:
                continue
            count += 1
            freed += stat.st_size
    return count, freed


async def _kept_model_paths(db: Database) -> list[Path]:
    """Model files the bot may still load: every registered shared version, and every taste model that is active,
    was promoted, or is what a rollback returns to."""
    paths = [Path(r["path"]) for r in await db.fetchall("SELECT path FROM model_versions")]
    for row in await db.fetchall(
        """
        SELECT path, metrics, active,
               EXISTS (SELECT 1 FROM taste_models p WHERE p.guild_id = t.guild_id AND p.previous_version = t.version) AS rollback_target
        FROM taste_models t
        """
    ):
        promote = codec.loads(row["metrics"], {}).get("promote")  # JSON in a text column on both databases
        if row["active"] == 1 or row["rollback_target"] or promote is None or bool(promote):
            paths.append(Path(row["path"]))
    return paths


def _delete_rejected_runs(models_dir: Path, kept: list[Path], cutoff: datetime, dry_run: bool) -> tuple[int, int]:
    if not models_dir.is_dir():
        return 0, 0
    resolved = [_resolved(p) for p in kept]
    count = freed = 0
    for run in sorted(models_dir.iterdir()):
        if not run.is_dir() or not RUN_FOLDER.match(run.name):
            continue
        folder = run.resolve()
        if any(path == folder or folder in path.parents for path in resolved):
            continue
        files = [p for p in run.rglob("*") if p.is_file()]
        newest = max([run.stat().st_mtime, *(p.stat().st_mtime for p in files)])
        if newest >= cutoff.timestamp():
            continue  # a recent run, or one still writing
        size = sum(p.stat().st_size for p in files)
        if not dry_run:
            shutil.rmtree(run, ignore_errors=True)
        count += 1
        freed += size
    return count, freed


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


__all__ = ["PruneReport", "prune_media"]
