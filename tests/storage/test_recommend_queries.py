"""Recommendations served from the database."""

from __future__ import annotations

from storage import Storage
from tests.helpers.factories import new_track


async def test_recommendations_exclude_rated_and_own_tracks_and_carry_reasons(storage: Storage) -> None:
    me, other = 1, 2
    liked = await storage.tracks.add(new_track(user_id=other, style="jazz", mood="calm"))
    similar = await storage.tracks.add(new_track(user_id=other, style="jazz", mood="calm", tempo=98.0))
    mine = await storage.tracks.add(new_track(user_id=me, style="jazz", mood="calm"))
    rock = await storage.tracks.add(new_track(user_id=other, style="rock", mood="dark", tempo=150.0, latent=None))
    elsewhere = await storage.tracks.add(new_track(user_id=other, guild_id=999))
    await storage.ratings.set(me, liked.id, 5)

    recs = await storage.recommend(me, guild_id=500)
    ids = [r.track.id for r in recs]
    assert ids == [similar.id, rock.id]
    assert liked.id not in ids and mine.id not in ids and elsewhere.id not in ids
    assert recs[0].reason == f"because you liked {liked.label}" and recs[0].anchor_track_id == liked.id
    assert all(r.reason for r in recs)


async def test_newcomer_gets_popular_tracks(storage: Storage) -> None:
    a = await storage.tracks.add(new_track(user_id=10))
    b = await storage.tracks.add(new_track(user_id=10, style="folk"))
    for user in (11, 12, 13):
        await storage.ratings.set(user, b.id, 5)
    await storage.ratings.set(11, a.id, 2)
    recs = await storage.recommend(77, guild_id=500, k=1)
    assert [(r.track.id, r.reason, r.reason_kind) for r in recs] == [(b.id, "popular on this server", "popular")]


async def test_empty_server(storage: Storage) -> None:
    assert await storage.recommend(1, guild_id=12345) == []


async def test_recommendations_outside_a_server_query_the_tracks_without_one(storage: Storage) -> None:
    made = await storage.tracks.add(new_track(user_id=5, guild_id=None))
    await storage.tracks.add(new_track(user_id=5, guild_id=500))
    recs = await storage.recommend(6, guild_id=None)
    assert [r.track.id for r in recs] == [made.id]
