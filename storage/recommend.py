"""Recommendations for a member of a server, from what is in the database (the algorithm is in
storage.recommender and knows nothing of SQLite)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from storage.database import Database
from storage.recommender import Item, Reason, Recommender, RecommenderConfig
from storage.tracks import _LIGHT, Track
from storage.tracks import _from_row as track_from_row


@dataclass(frozen=True)
class Recommendation:
    track: Track
    score: float
    reason: str  # "because you liked #12 (jazz, calm)", "popular on this server", ...
    reason_kind: str  # "content", "collaborative" or "popular"
    anchor_track_id: int | None  # the liked track the reason names, if any

    @classmethod
    def of(cls, track: Track, score: float, reason: Reason) -> Recommendation:
        return cls(track, score, reason.text, reason.kind, reason.anchor_track_id)


def as_item(track: Track) -> Item:
    return Item(
        track_id=track.id,
        style=track.style,
        mood=track.mood,
        tempo=track.tempo,
        features=track.features,
        latent=track.latent,
        creator_id=track.user_id,
    )


async def recommend(
    db: Database, user_id: int, guild_id: int | None, k: int = 10, config: RecommenderConfig | None = None
) -> list[Recommendation]:
    """Up to `k` of the server's tracks for the user, best first, never one they rated or made.

    Fitted afresh on each call from the server's tracks and ratings, so it is always up to date with the
    latest reactions. The rows are read by the database's own thread and everything Python does with them
    (decoding tracks, building the ratings, fitting, ranking) runs in a worker thread: with 10,000 tracks and
    50,000 ratings that is seconds of work, and decoding the rows on the event loop alone held it for 0.3 s,
    delaying every other command's acknowledgement (see BENCHMARKS.md, `tunesmith bench recommend-ack`).
    """
    where, params = ("guild_id IS NULL", ()) if guild_id is None else ("guild_id = ?", (guild_id,))
    # The same selection as TrackRepository.for_guild and RatingRepository.for_guild, without building objects here.
    track_rows = await db.fetchall(f"SELECT {_LIGHT} FROM tracks WHERE {where} ORDER BY id DESC", params)
    if not track_rows:
        return []
    rating_rows = await db.fetchall(
        f"SELECT r.user_id, r.track_id, r.score FROM ratings r JOIN tracks t ON t.id = r.track_id WHERE t.{where} ORDER BY r.track_id, r.user_id",
        params,
    )

    def rank() -> list[Recommendation]:
        tracks = [track_from_row(r, with_tokens=False) for r in track_rows]
        model = Recommender([as_item(t) for t in tracks], [(r[0], r[1], r[2]) for r in rating_rows], config)
        by_id = {t.id: t for t in tracks}
        return [Recommendation.of(by_id[s.track_id], s.score, s.reason) for s in model.recommend(user_id, k)]

    return await asyncio.to_thread(rank)


__all__ = ["Recommendation", "recommend", "as_item"]
