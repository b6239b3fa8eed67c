"""Recommendations for a member of a server, from what is in the database (the algorithm is in
storage.recommender and knows nothing of SQLite)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from storage.database import Database
from storage.ratings import RatingRepository
from storage.recommender import Item, Reason, Recommender, RecommenderConfig, Scored
from storage.tracks import Track, TrackRepository


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

    Fitted afresh on each call from the server's tracks and ratings: cheap at Discord-server sizes
    (thousands of tracks), and always up to date with the latest reactions.
    """
    tracks = await TrackRepository(db).for_guild(guild_id)
    if not tracks:
        return []
    ratings = await RatingRepository(db).for_guild(guild_id)

    def rank() -> list[Scored]:
        model = Recommender([as_item(t) for t in tracks], [(r.user_id, r.track_id, r.score) for r in ratings], config)
        return model.recommend(user_id, k)

    # Numpy work off the event loop, so the bot keeps answering while a big server is ranked.
    scored = await asyncio.to_thread(rank)
    by_id = {t.id: t for t in tracks}
    return [Recommendation.of(by_id[s.track_id], s.score, s.reason) for s in scored]


__all__ = ["Recommendation", "recommend", "as_item"]
