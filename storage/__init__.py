"""Tunesmith's persistence: SQLite (via aiosqlite) or PostgreSQL (via asyncpg) for metadata, a content-addressed
folder for files. The `database_url` setting chooses: empty is the SQLite file in data_dir, a
`postgresql://` URL is that database (storage/postgres.py); `settings.database` is whichever applies.

Usage, from async code::

    storage = await Storage.open(settings.database, settings.media_dir)
    track = await storage.tracks.add(NewTrack(...))
    await storage.ratings.set(user_id, track.id, 5)
    for rec in await storage.recommend(user_id, guild_id):
        print(rec.track.label, rec.reason)
    await storage.close()
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from storage.database import DEFAULT_BUSY_TIMEOUT_S, Database, DatabaseBusyError, DatabaseCorruptError, DatabaseOpenError
from storage.export import RatingExport, export_ratings
from storage.jobs import Job, JobRepository, JobStateError
from storage.media import MediaStore
from storage.postgres import PostgresDatabase, is_postgres_url, redact_url
from storage.models import ModelVersion, ModelVersionError, ModelVersionRepository
from storage.scope import Scope, as_scope
from storage.ratings import InvalidRatingError, RateableMessage, Rating, RatingRepository
from storage.recommend import Recommendation, recommend
from storage.servers import ServerRepository, ServerSettings, ServerSettingsError
from storage.tracks import NewTrack, Track, TrackRepository, UnknownTrackError
from storage.users import ForgetReport, User, UserRepository


AnyDatabase = Database | PostgresDatabase


async def open_database(target: Path | str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> AnyDatabase:
    """The one way to open Tunesmith's database: `target` is a SQLite file's path, or a `postgresql://` URL."""
    if is_postgres_url(target):
        return await PostgresDatabase.open(str(target), busy_timeout_s=busy_timeout_s)
    return await Database.open(Path(target), busy_timeout_s=busy_timeout_s)


def describe_database(target: Path | str) -> str:
    """How messages name the database: the file, or the URL without its password."""
    return redact_url(str(target)) if is_postgres_url(target) else str(target)


class Storage:
    """The database, the media store and one repository per aggregate."""

    def __init__(self, db: AnyDatabase, media: MediaStore) -> None:
        self.db = db
        self.media = media
        self.tracks = TrackRepository(db)
        self.ratings = RatingRepository(db)
        self.users = UserRepository(db)
        self.servers = ServerRepository(db)
        self.jobs = JobRepository(db)
        self.models = ModelVersionRepository(db)

    @classmethod
    async def open(cls, database: Path | str, media_dir: Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Storage:
        """Open the database (a SQLite file's path or a `postgresql://` URL; migrating it to the current schema)
        and the media folder.

        `busy_timeout_s`: how long a write waits for another program holding the database (DatabaseBusyError after).
        """
        media_dir = Path(media_dir)
        media_dir.mkdir(parents=True, exist_ok=True)
        return cls(await open_database(database, busy_timeout_s=busy_timeout_s), MediaStore(media_dir))

    async def recommend(self, user_id: int, guild_id: int | None, k: int = 10) -> list[Recommendation]:
        """Up to `k` tracks of the server for the user, best first, each with a reason (see storage.recommend)."""
        return await recommend(self.db, user_id, guild_id, k)

    async def export_ratings(self, *, guild_id: int | None = None, model_version: str | None = None) -> RatingExport:
        """Ratings joined with tracks' latents, tokens and parameters, for fine-tuning (see storage.export)."""
        return await export_ratings(self.db, guild_id=guild_id, model_version=model_version)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()


__all__ = [
    "Storage", "Database", "PostgresDatabase", "open_database", "describe_database", "MediaStore", "Scope", "as_scope",
    "DatabaseBusyError", "DatabaseCorruptError", "DatabaseOpenError",
    "NewTrack", "Track", "UnknownTrackError",
    "Rating", "InvalidRatingError", "RateableMessage",
    "User", "ForgetReport",
    "ServerSettings", "ServerSettingsError",
    "Job", "JobStateError",
    "ModelVersion", "ModelVersionError",
    "Recommendation", "RatingExport",
]  # fmt: skip
