"""Ratings: one score from 1 to 5 per user per track, changed by reacting again, removed by un-reacting."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from numbers import Integral

from storage.database import Database, parse_time, utc_now
from storage.scope import Scope, as_scope
from storage.tracks import UnknownTrackError
from storage.users import touch_user

MIN_SCORE, MAX_SCORE = 1, 5


class InvalidRatingError(ValueError):
    """A score outside 1..5; the message can be shown to the user."""


@dataclass(frozen=True)
class Rating:
    user_id: int
    track_id: int
    score: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TrackRatingSummary:
    track_id: int
    count: int
    mean: float | None  # None when nobody rated it


@dataclass(frozen=True)
class RateableMessage:
    """A posted track: reactions on `message_id` in `channel_id` are ratings of `track_id`."""

    track_id: int
    message_id: int
    channel_id: int | None
    created_at: datetime
    guild_id: int | None = None  # which shard's: a sharded bot reconciles only its own servers' tracks


def _checked_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, Integral) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidRatingError(f"A rating must be a whole number from {MIN_SCORE} to {MAX_SCORE}, not {score!r}.")
    return int(score)  # numpy integers too


_UPSERT = """
    INSERT INTO ratings (user_id, track_id, score, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (user_id, track_id) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at
"""


def _from_row(row: sqlite3.Row) -> Rating:
    return Rating(row["user_id"], row["track_id"], row["score"], parse_time(row["created_at"]), parse_time(row["updated_at"]))


class RatingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, user_id: int, track_id: int, score: int) -> Rating:
        """Record the user's score for the track, replacing an earlier one; committed when this returns."""
        score = _checked_score(score)
        now = utc_now()
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM tracks WHERE id = ?", (track_id,)) is None:
                raise UnknownTrackError(track_id)
            await touch_user(tx, user_id)
            await tx.execute(_UPSERT, (user_id, track_id, score, now, now))
            row = await tx.fetchone("SELECT * FROM ratings WHERE user_id = ? AND track_id = ?", (user_id, track_id))
        assert row is not None
        return _from_row(row)

    async def remove(self, user_id: int, track_id: int, *, score: int | None = None) -> bool:
        """Remove the user's rating of the track; with `score`, only if that is the score stored.
        False when nothing was removed."""
        if score is None:
            return await self._db.execute("DELETE FROM ratings WHERE user_id = ? AND track_id = ?", (user_id, track_id)) > 0
        sql = "DELETE FROM ratings WHERE user_id = ? AND track_id = ? AND score = ?"
        return await self._db.execute(sql, (user_id, track_id, _checked_score(score))) > 0

    async def apply(self, track_id: int, changes: Mapping[int, int | None]) -> None:
        """Set (a score) or remove (None) several users' ratings of one track in one transaction: all or nothing."""
        checked = {user_id: None if score is None else _checked_score(score) for user_id, score in changes.items()}
        if not checked:
            return
        now = utc_now()
        async with self._db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM tracks WHERE id = ?", (track_id,)) is None:
                raise UnknownTrackError(track_id)
            for user_id, score in checked.items():
                if score is None:
                    await tx.execute("DELETE FROM ratings WHERE user_id = ? AND track_id = ?", (user_id, track_id))
                else:
                    await touch_user(tx, user_id)
                    await tx.execute(_UPSERT, (user_id, track_id, score, now, now))

    async def scores(self, track_id: int) -> dict[int, int]:
        """Each user's score of the track, by user id."""
        rows = await self._db.fetchall("SELECT user_id, score FROM ratings WHERE track_id = ?", (track_id,))
        return {int(row[0]): int(row[1]) for row in rows}

    async def rateable_messages(self, since: datetime, limit: int) -> list[RateableMessage]:
        """Posted tracks made at or after `since`, newest first, at most `limit`: whose reactions to reconcile."""
        rows = await self._db.fetchall(
            "SELECT id, message_id, channel_id, created_at, guild_id FROM tracks WHERE message_id IS NOT NULL AND created_at >= ? "
            "ORDER BY created_at DESC LIMIT ?",
            (since.astimezone(UTC).isoformat(timespec="microseconds"), limit),
        )
        return [RateableMessage(int(r[0]), int(r[1]), None if r[2] is None else int(r[2]), parse_time(r[3]), None if r[4] is None else int(r[4])) for r in rows]

    async def get(self, user_id: int, track_id: int) -> Rating | None:
        row = await self._db.fetchone("SELECT * FROM ratings WHERE user_id = ? AND track_id = ?", (user_id, track_id))
        return None if row is None else _from_row(row)

    async def by_user(self, user_id: int, scope: Scope | None = None) -> list[Rating]:
        """The user's ratings, latest first: of the tracks of one scope, or (for their own data) everywhere."""
        if scope is None:
            rows = await self._db.fetchall("SELECT * FROM ratings WHERE user_id = ? ORDER BY updated_at DESC", (user_id,))
        else:
            where, params = scope.where("t")
            rows = await self._db.fetchall(
                f"SELECT r.* FROM ratings r JOIN tracks t ON t.id = r.track_id WHERE r.user_id = ? AND {where} ORDER BY r.updated_at DESC",
                (user_id, *params),
            )
        return [_from_row(r) for r in rows]

    async def for_track(self, track_id: int) -> list[Rating]:
        rows = await self._db.fetchall("SELECT * FROM ratings WHERE track_id = ? ORDER BY updated_at", (track_id,))
        return [_from_row(r) for r in rows]

    async def summary(self, track_id: int) -> TrackRatingSummary:
        row = await self._db.fetchone("SELECT COUNT(*), AVG(score) FROM ratings WHERE track_id = ?", (track_id,))
        assert row is not None
        return TrackRatingSummary(track_id, int(row[0]), None if row[1] is None else float(row[1]))

    async def for_guild(self, scope: Scope | int) -> list[Rating]:
        """Every rating of the scope's tracks (a server's, or one user's DM tracks): what the recommender learns
        from. None is refused: it would pool every user's DM ratings."""
        where, params = as_scope(scope).where("t")
        rows = await self._db.fetchall(
            f"SELECT r.* FROM ratings r JOIN tracks t ON t.id = r.track_id WHERE {where} ORDER BY r.track_id, r.user_id",
            params,
        )
        return [_from_row(r) for r in rows]

    async def liked_styles_and_moods(self, user_id: int, *, min_score: int = 4, limit: int = 50) -> list[tuple[str, str, int]]:
        """(style, mood, score) of the tracks the user rated at least `min_score`, latest first: their taste, in one query."""
        rows = await self._db.fetchall(
            "SELECT t.style, t.mood, r.score FROM ratings r JOIN tracks t ON t.id = r.track_id "
            "WHERE r.user_id = ? AND r.score >= ? ORDER BY r.updated_at DESC LIMIT ?",
            (user_id, min_score, limit),
        )
        return [(row[0], row[1], int(row[2])) for row in rows]

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM ratings"))


__all__ = ["Rating", "RatingRepository", "RateableMessage", "TrackRatingSummary", "InvalidRatingError", "MIN_SCORE", "MAX_SCORE"]
