from __future__ import annotations

import numpy as np
import pytest

from storage import Scope, Storage, UnknownTrackError
from tests.helpers.factories import new_track


async def test_round_trip_keeps_every_field(storage: Storage) -> None:
    new = new_track()
    track = await storage.tracks.add(new)
    loaded = await storage.tracks.get(track.id)
    assert loaded is not None
    assert loaded == track
    for name in ("guild_id", "user_id", "style", "mood", "key", "tempo", "bars", "seed", "sampler", "prompt", "model_version"):
        assert getattr(loaded, name) == getattr(new, name)
    assert loaded.latent.dtype == np.float32
    np.testing.assert_array_equal(loaded.latent, new.latent)
    assert loaded.features == dict(new.features)
    np.testing.assert_array_equal(loaded.tokens["melody"], new.tokens["melody"])
    assert loaded.label == f"#{track.id} (jazz, calm)"
    assert (await storage.users.get(1001)) is not None  # the creator was registered


async def test_variations_and_lineage(storage: Storage) -> None:
    original = await storage.tracks.add(new_track())
    variation = await storage.tracks.add(new_track(parent_id=original.id, relation="variation"))
    extension = await storage.tracks.add(new_track(parent_id=variation.id, relation="extend", bars=16))
    assert [t.id for t in await storage.tracks.children(original.id)] == [variation.id]
    assert [t.id for t in await storage.tracks.lineage(extension.id)] == [extension.id, variation.id, original.id]


async def test_parent_must_exist_and_relation_must_be_known(storage: Storage) -> None:
    with pytest.raises(UnknownTrackError, match="no track #99"):
        await storage.tracks.add(new_track(parent_id=99, relation="variation"))
    with pytest.raises(ValueError, match="Unknown relation"):
        await storage.tracks.add(new_track(parent_id=1, relation="cover"))
    with pytest.raises(ValueError, match="parent exactly when"):
        await storage.tracks.add(new_track(relation="variation"))


async def test_bad_latent_or_features_are_rejected(storage: Storage) -> None:
    with pytest.raises(ValueError, match="NaN"):
        await storage.tracks.add(new_track(latent=np.array([1.0, np.nan])))
    with pytest.raises(ValueError, match="finite"):
        await storage.tracks.add(new_track(features={"density": float("inf")}))


async def test_files_and_message_are_recorded_later(storage: Storage) -> None:
    track = await storage.tracks.add(new_track())
    await storage.tracks.set_files(track.id, midi_path="ab/x.mid", mp3_path="cd/y.mp3")
    await storage.tracks.set_files(track.id, png_path="ef/z.png")
    await storage.tracks.set_message(track.id, 777)
    found = await storage.tracks.by_message(777)
    assert found is not None and found.id == track.id
    assert (found.midi_path, found.mp3_path, found.png_path) == ("ab/x.mid", "cd/y.mp3", "ef/z.png")
    with pytest.raises(UnknownTrackError):
        await storage.tracks.set_message(12345, 1)


async def test_listings(storage: Storage) -> None:
    a = await storage.tracks.add(new_track(guild_id=1, user_id=10))
    b = await storage.tracks.add(new_track(guild_id=1, user_id=11))
    c = await storage.tracks.add(new_track(guild_id=2, user_id=10))
    assert [t.id for t in await storage.tracks.for_guild(1)] == [b.id, a.id]
    assert [t.id for t in await storage.tracks.by_user(10)] == [c.id, a.id]
    assert [t.id for t in await storage.tracks.by_user(10, Scope.guild(1))] == [a.id]
    assert await storage.tracks.count() == 3 and await storage.tracks.count(2) == 1


async def test_delete_detaches_children_and_removes_ratings(storage: Storage) -> None:
    parent = await storage.tracks.add(new_track())
    child = await storage.tracks.add(new_track(parent_id=parent.id, relation="remood", mood="sad"))
    await storage.ratings.set(5, parent.id, 4)
    await storage.tracks.delete(parent.id)
    assert await storage.tracks.get(parent.id) is None
    orphan = await storage.tracks.get(child.id)
    assert orphan is not None and orphan.parent_id is None and orphan.relation is None
    assert await storage.ratings.get(5, parent.id) is None


async def test_dm_tracks_belong_to_their_maker_alone(storage: Storage) -> None:
    """A DM track (no guild) is in its maker's DM scope only: never pooled with other users' DM tracks,
    never in a server's scope, and unreachable by id from anywhere else."""
    mine = await storage.tracks.add(new_track(guild_id=None, user_id=10))
    theirs = await storage.tracks.add(new_track(guild_id=None, user_id=11))
    on_server = await storage.tracks.add(new_track(guild_id=1, user_id=10))
    assert [t.id for t in await storage.tracks.in_scope(Scope.dm(10))] == [mine.id]
    assert [t.id for t in await storage.tracks.in_scope(Scope.dm(11))] == [theirs.id]
    assert [t.id for t in await storage.tracks.in_scope(Scope.guild(1))] == [on_server.id]
    assert [t.id for t in await storage.tracks.by_user(10, Scope.dm(10))] == [mine.id]
    assert await storage.tracks.get_in(Scope.dm(11), mine.id) is None
    assert await storage.tracks.get_in(Scope.guild(1), mine.id) is None
    assert (await storage.tracks.require_in(Scope.dm(10), mine.id)).scope == Scope.dm(10)
    with pytest.raises(UnknownTrackError, match="in your DMs"):
        await storage.tracks.require_in(Scope.dm(11), mine.id)
    with pytest.raises(UnknownTrackError, match="on this server"):
        await storage.tracks.require_in(Scope.guild(2), on_server.id)
    assert await storage.tracks.count(Scope.dm(10)) == 1 and await storage.tracks.count(1) == 1


async def test_a_missing_guild_is_not_a_scope(storage: Storage) -> None:
    await storage.tracks.add(new_track(guild_id=None, user_id=10))
    with pytest.raises(TypeError, match="Scope.dm"):
        await storage.tracks.for_guild(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly one"):
        Scope(guild_id=1, dm_user_id=2)
    assert Scope.of(None, 5) == Scope.dm(5) and Scope.of(7, 5) == Scope.guild(7)
