from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from storage import InvalidRatingError, Scope, Storage, UnknownTrackError
from tests.helpers.factories import new_track


async def test_one_rating_per_user_per_track_upserts(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    first = await storage.ratings.set(2001, track.id, 2)
    second = await storage.ratings.set(2001, track.id, 5)
    assert second.score == 5 and second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert [r.score for r in await storage.ratings.for_track(track.id)] == [5]
    await storage.ratings.set(2002, track.id, 3)
    summary = await storage.ratings.summary(track.id)
    assert summary.count == 2 and summary.mean == pytest.approx(4.0)


async def test_remove(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await storage.ratings.set(2001, track.id, 4)
    assert await storage.ratings.remove(2001, track.id) is True
    assert await storage.ratings.remove(2001, track.id) is False
    assert (await storage.ratings.summary(track.id)).mean is None


@pytest.mark.parametrize("score", [0, 6, 3.5, True, "5"])
async def test_scores_outside_one_to_five_are_refused(storage: Storage, score: object) -> None:
    track = await storage.tracks.add(new_track())
    with pytest.raises(InvalidRatingError, match="from 1 to 5"):
        await storage.ratings.set(2001, track.id, score)  # type: ignore[arg-type]


async def test_numpy_integers_are_whole_numbers(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    assert (await storage.ratings.set(2001, track.id, np.int64(4))).score == 4


async def test_rating_an_unknown_track(storage: Storage) -> None:
    with pytest.raises(UnknownTrackError, match="no track #404"):
        await storage.ratings.set(2001, 404, 5)
    assert await storage.users.get(2001) is None  # nothing half-written


async def test_ratings_of_a_guild(storage: Storage) -> None:
    here = await storage.tracks.add(new_track(guild_id=1))
    elsewhere = await storage.tracks.add(new_track(guild_id=2))
    await storage.ratings.set(1, here.id, 5)
    await storage.ratings.set(1, elsewhere.id, 1)
    assert [(r.track_id, r.score) for r in await storage.ratings.for_guild(1)] == [(here.id, 5)]
    assert [r.track_id for r in await storage.ratings.by_user(1)] == [elsewhere.id, here.id]


async def test_liked_styles_and_moods_lists_only_liked_tracks(storage: Storage) -> None:
    jazz = await storage.tracks.add(new_track(style="jazz", mood="calm"))
    rock = await storage.tracks.add(new_track(style="rock", mood="dark"))
    await storage.ratings.set(2001, jazz.id, 5)
    await storage.ratings.set(2001, rock.id, 2)
    await storage.ratings.set(2002, rock.id, 4)
    assert await storage.ratings.liked_styles_and_moods(2001) == [("jazz", "calm", 5)]


async def test_remove_with_a_score_only_removes_that_score(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await storage.ratings.set(2001, track.id, 4)
    assert await storage.ratings.remove(2001, track.id, score=2) is False
    assert (await storage.ratings.get(2001, track.id)).score == 4
    assert await storage.ratings.remove(2001, track.id, score=4) is True
    assert await storage.ratings.get(2001, track.id) is None


async def test_apply_sets_and_removes_several_users_at_once(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await storage.ratings.set(1, track.id, 2)
    await storage.ratings.set(2, track.id, 3)
    await storage.ratings.apply(track.id, {1: None, 2: 5, 3: 1})
    assert await storage.ratings.scores(track.id) == {2: 5, 3: 1}
    await storage.ratings.apply(track.id, {})  # nothing to do is not an error
    assert await storage.ratings.scores(track.id) == {2: 5, 3: 1}


async def test_apply_is_all_or_nothing(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await storage.ratings.set(1, track.id, 2)
    with pytest.raises(InvalidRatingError, match="from 1 to 5"):
        await storage.ratings.apply(track.id, {1: None, 2: 9})
    assert await storage.ratings.scores(track.id) == {1: 2}
    with pytest.raises(UnknownTrackError, match="no track #404"):
        await storage.ratings.apply(404, {1: 3})
    assert await storage.users.get(3) is None


async def test_rateable_messages_are_recent_posted_tracks_newest_first(storage: Storage) -> None:
    old = await storage.tracks.add(new_track())
    await storage.tracks.set_message(old.id, 9001, 600)
    cutoff = datetime.now(UTC)
    unposted = await storage.tracks.add(new_track())
    first = await storage.tracks.add(new_track())
    await storage.tracks.set_message(first.id, 9002, 600)
    second = await storage.tracks.add(new_track())
    await storage.tracks.set_message(second.id, 9003, 601)
    found = await storage.ratings.rateable_messages(cutoff, limit=10)
    assert [(m.track_id, m.message_id, m.channel_id) for m in found] == [(second.id, 9003, 601), (first.id, 9002, 600)]
    assert unposted.id not in {m.track_id for m in found}
    assert [m.track_id for m in await storage.ratings.rateable_messages(cutoff, limit=1)] == [second.id]


async def test_ratings_are_read_by_scope(storage: Storage) -> None:
    """A user's ratings of DM tracks and of each server's tracks are read apart; no scope pools DMs."""
    on_server = await storage.tracks.add(new_track(guild_id=1, user_id=10))
    my_dm = await storage.tracks.add(new_track(guild_id=None, user_id=10))
    their_dm = await storage.tracks.add(new_track(guild_id=None, user_id=11))
    await storage.ratings.set(10, on_server.id, 4)
    await storage.ratings.set(10, my_dm.id, 5)
    await storage.ratings.set(11, their_dm.id, 3)
    assert [r.track_id for r in await storage.ratings.by_user(10, Scope.guild(1))] == [on_server.id]
    assert [r.track_id for r in await storage.ratings.by_user(10, Scope.dm(10))] == [my_dm.id]
    assert await storage.ratings.by_user(10, Scope.guild(2)) == []
    assert [r.track_id for r in await storage.ratings.for_guild(Scope.dm(11))] == [their_dm.id]
    assert [r.track_id for r in await storage.ratings.for_guild(1)] == [on_server.id]
    with pytest.raises(TypeError):
        await storage.ratings.for_guild(None)  # type: ignore[arg-type]
