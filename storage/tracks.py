"""Tracks: every generated piece with the parameters, model and seed that made it, its latent and
features (for recommendations), its parent (for variations), and where its files are."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from storage import codec
from storage.database import Database, Transaction, parse_optional_time, parse_time, utc_now
from storage.scope import Scope, as_scope
from storage.users import touch_user

RELATIONS: tuple[str, ...] = ("variation", "extend", "restyle", "remood", "regenerate")


class UnknownTrackError(LookupError):
    """A track id that does not exist; the message can be shown to the user."""

    def __init__(self, track_id: int, scope: Scope | None = None) -> None:
        where = "" if scope is None else (" on this server" if not scope.is_dm else " in your DMs")
        super().__init__(f"There is no track #{track_id}{where}.")
        self.track_id = track_id


@dataclass(frozen=True, kw_only=True)
class NewTrack:
    """What the composer knows about a piece before it is stored."""

    guild_id: int | None
    channel_id: int | None
    user_id: int | None
    style: str
    mood: str
    key: str
    tempo: float
    bars: int
    seed: int
    sampler: str
    model_version: str
    prompt: str | None = None
    latent: np.ndarray | None = field(default=None, compare=False)  # float32 vector
    features: Mapping[str, float] = field(default_factory=dict)  # e.g. density, pitch_range, valence, arousal
    tokens: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)  # engine.tokens arrays
    parent_id: int | None = None
    relation: str | None = None  # one of RELATIONS when parent_id is set
    midi_path: str | None = None  # media-store relative paths
    mp3_path: str | None = None
    png_path: str | None = None
    message_id: int | None = None
    form: str | None = None  # the plan's form, e.g. "AABA"; None for tracks made before forms
    # How it was made (bot.recipes): what Regenerate and a re-render replay. None for tracks made before recipes.
    recipe: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Track(NewTrack):
    id: int
    created_at: datetime
    media_pruned_at: datetime | None = None  # when the retention policy deleted its files (they can be rendered again)

    @property
    def scope(self) -> Scope | None:
        """Where the track belongs: its server, or its maker's DMs (None for an anonymised DM track)."""
        if self.guild_id is not None:
            return Scope.guild(self.guild_id)
        return None if self.user_id is None else Scope.dm(self.user_id)

    @property
    def label(self) -> str:
        """How the bot names the track to people: "#12 (jazz, calm)"."""
        return f"#{self.id} ({self.style}, {self.mood})"


_COLUMNS = (
    "guild_id", "channel_id", "user_id", "style", "mood", "key", "tempo", "bars", "seed", "sampler", "prompt",
    "model_version", "latent", "features", "tokens", "parent_id", "relation", "midi_path", "mp3_path", "png_path",
    "message_id", "form", "recipe", "created_at",
)  # fmt: skip


def _from_row(row: sqlite3.Row, *, with_tokens: bool = True) -> Track:
    return Track(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        style=row["style"],
        mood=row["mood"],
        key=row["key"],
        tempo=row["tempo"],
        bars=row["bars"],
        seed=row["seed"],
        sampler=row["sampler"],
        prompt=row["prompt"],
        model_version=row["model_version"],
        latent=codec.decode_latent(row["latent"]),
        features=codec.loads(row["features"], {}),
        tokens=codec.decode_tokens(row["tokens"]) if with_tokens else None,
        parent_id=row["parent_id"],
        relation=row["relation"],
        midi_path=row["midi_path"],
        mp3_path=row["mp3_path"],
        png_path=row["png_path"],
        message_id=row["message_id"],
        form=row["form"],
        recipe=codec.loads(row["recipe"]),
        created_at=parse_time(row["created_at"]),
        media_pruned_at=parse_optional_time(row["media_pruned_at"]),
    )


# Columns read for listings: everything but the token arrays and the recipe, which only export and the engine need.
_LIGHT = ", ".join(["id", "media_pruned_at"] + [c if c not in ("tokens", "recipe") else f"NULL AS {c}" for c in _COLUMNS])


async def _job_names(tx: Transaction, job_id: int, user_id: int) -> bool:
    row = await tx.fetchone("SELECT user_id FROM jobs WHERE id = ?", (job_id,))
    return row is not None and row["user_id"] == user_id


class TrackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, new: NewTrack, *, job_id: int | None = None) -> Track:
        """Store a generated track and return it with its id. Its creator is registered as a user if new.

        `job_id` is the request that made it. If that request no longer names the creator (they used
        /forget-me while it was composing, which detaches it), the track is stored anonymised and the
        creator is not registered again. A Regenerated track carries its parent's prompt only while the
        parent still has it."""
        if new.relation is not None and new.relation not in RELATIONS:
            raise ValueError(f"Unknown relation {new.relation!r}; expected one of {', '.join(RELATIONS)}")
        if (new.parent_id is None) != (new.relation is None):
            raise ValueError("A track has a parent exactly when it has a relation to it")
        values: dict[str, Any] = {
            name: getattr(new, name) for name in _COLUMNS if name not in ("latent", "features", "tokens", "recipe", "created_at")
        }
        values.update(
            latent=codec.encode_latent(new.latent),
            features=codec.encode_features(new.features),
            tokens=codec.encode_tokens(new.tokens),
            recipe=None if new.recipe is None else codec.dumps(dict(new.recipe)),
            created_at=utc_now(),
            tempo=float(new.tempo),
        )
        async with self._db.transaction() as tx:
            # Checked in the same transaction as the insert, so a /forget-me cannot slip in between.
            if new.parent_id is not None:
                parent = await tx.fetchone("SELECT prompt FROM tracks WHERE id = ?", (new.parent_id,))
                if parent is None:
                    raise UnknownTrackError(new.parent_id)
                if new.relation == "regenerate" and parent["prompt"] is None:
                    values["prompt"] = None
            if new.user_id is not None and job_id is not None and not await _job_names(tx, job_id, new.user_id):
                values.update(user_id=None, prompt=None)
            if values["user_id"] is not None:
                await touch_user(tx, values["user_id"])
            row = await tx.fetchone(
                f"INSERT INTO tracks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) RETURNING *",
                [values[name] for name in _COLUMNS],
            )
        assert row is not None
        return _from_row(row)

    async def get(self, track_id: int) -> Track | None:
        row = await self._db.fetchone("SELECT * FROM tracks WHERE id = ?", (track_id,))
        return None if row is None else _from_row(row)

    async def require(self, track_id: int) -> Track:
        """The track, or UnknownTrackError with a message for the user."""
        track = await self.get(track_id)
        if track is None:
            raise UnknownTrackError(track_id)
        return track

    async def by_message(self, message_id: int) -> Track | None:
        """The track posted as this Discord message (reactions on it are ratings of it)."""
        row = await self._db.fetchone(f"SELECT {_LIGHT} FROM tracks WHERE message_id = ?", (message_id,))
        return None if row is None else _from_row(row, with_tokens=False)

    async def get_in(self, scope: Scope, track_id: int) -> Track | None:
        """The track if it belongs to `scope` (its server, or the user's own DMs), else None."""
        where, params = scope.where()
        row = await self._db.fetchone(f"SELECT * FROM tracks WHERE id = ? AND {where}", (track_id, *params))
        return None if row is None else _from_row(row)

    async def require_in(self, scope: Scope, track_id: int) -> Track:
        """The track if it belongs to `scope`, else UnknownTrackError naming the scope (another server's or
        another user's tracks do not exist as far as this scope can tell)."""
        track = await self.get_in(scope, track_id)
        if track is None:
            raise UnknownTrackError(track_id, scope)
        return track

    async def in_scope(self, scope: Scope, *, limit: int | None = None) -> list[Track]:
        """The scope's tracks (a server's, or one user's DM tracks), newest first (without token arrays)."""
        where, params = scope.where()
        sql = f"SELECT {_LIGHT} FROM tracks WHERE {where} ORDER BY id DESC"
        values: list[Any] = list(params)
        if limit is not None:
            sql += " LIMIT ?"
            values.append(limit)
        return [_from_row(r, with_tokens=False) for r in await self._db.fetchall(sql, values)]

    async def for_guild(self, scope: Scope | int, *, limit: int | None = None) -> list[Track]:
        """`in_scope` for a Scope or a server's id. None is refused: it would pool every user's DM tracks."""
        return await self.in_scope(as_scope(scope), limit=limit)

    async def by_user(self, user_id: int, scope: Scope | None = None, *, limit: int = 25) -> list[Track]:
        """Tracks the user made, newest first (without token arrays): in one scope, or (for their own
        data, e.g. /forget-me) everywhere."""
        sql = f"SELECT {_LIGHT} FROM tracks WHERE user_id = ?"
        params: list[Any] = [user_id]
        if scope is not None:
            where, extra = scope.where()
            sql += f" AND {where}"
            params.extend(extra)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_from_row(r, with_tokens=False) for r in await self._db.fetchall(sql, params)]

    async def children(self, parent_id: int) -> list[Track]:
        """Variations, extensions and other tracks made from this one, oldest first."""
        rows = await self._db.fetchall(f"SELECT {_LIGHT} FROM tracks WHERE parent_id = ? ORDER BY id", (parent_id,))
        return [_from_row(r, with_tokens=False) for r in rows]

    async def lineage(self, track_id: int) -> list[Track]:
        """The track and its ancestors, the track first and the original last."""
        rows = await self._db.fetchall(
            f"""
            WITH RECURSIVE chain(id, depth) AS (
                SELECT id, 0 FROM tracks WHERE id = ?
                UNION ALL
                SELECT t.parent_id, chain.depth + 1 FROM tracks t JOIN chain ON t.id = chain.id
                WHERE t.parent_id IS NOT NULL
            )
            SELECT {_LIGHT.replace("id, ", "tracks.id, ", 1)} FROM chain JOIN tracks ON tracks.id = chain.id ORDER BY chain.depth
            """,
            (track_id,),
        )
        return [_from_row(r, with_tokens=False) for r in rows]

    async def set_files(
        self, track_id: int, *, midi_path: str | None = None, mp3_path: str | None = None, png_path: str | None = None
    ) -> None:
        """Record rendered files (media-store relative paths); None leaves a path as it was."""
        await self._update(
            track_id,
            "midi_path = COALESCE(?, midi_path), mp3_path = COALESCE(?, mp3_path), png_path = COALESCE(?, png_path)",
            (midi_path, mp3_path, png_path),
        )

    async def restore_files(self, track_id: int, *, midi_path: str, mp3_path: str, png_path: str) -> None:
        """Record files rendered again after the retention policy pruned them (storage.retention)."""
        await self._update(track_id, "midi_path = ?, mp3_path = ?, png_path = ?, media_pruned_at = NULL", (midi_path, mp3_path, png_path))

    async def set_message(self, track_id: int, message_id: int, channel_id: int | None = None) -> None:
        """Record the Discord message the track was posted as."""
        await self._update(track_id, "message_id = ?, channel_id = COALESCE(?, channel_id)", (message_id, channel_id))

    async def delete(self, track_id: int) -> None:
        """Delete a track and its ratings; its children keep existing without a parent."""
        await self._update(track_id, None, ())

    async def count(self, scope: Scope | int | None = None) -> int:
        """Every track (for the bot's owners and benchmarks), or the tracks of one scope."""
        if scope is None:
            return int(await self._db.fetchval("SELECT COUNT(*) FROM tracks"))
        where, params = as_scope(scope).where()
        return int(await self._db.fetchval(f"SELECT COUNT(*) FROM tracks WHERE {where}", params))

    async def _update(self, track_id: int, assignments: str | None, params: Sequence[Any]) -> None:
        async with self._db.transaction() as tx:
            if assignments is None:
                # Children lose their relation with their parent (the schema ties the two together).
                await tx.execute("UPDATE tracks SET parent_id = NULL, relation = NULL WHERE parent_id = ?", (track_id,))
                cursor = await tx.execute("DELETE FROM tracks WHERE id = ?", (track_id,))
            else:
                cursor = await tx.execute(f"UPDATE tracks SET {assignments} WHERE id = ?", (*params, track_id))
            if cursor.rowcount == 0:
                raise UnknownTrackError(track_id)


__all__ = ["NewTrack", "Track", "TrackRepository", "UnknownTrackError", "RELATIONS"]
