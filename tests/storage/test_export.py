from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage import Storage
from storage.export import export_ratings, load_tokens, remove_user_from_exports
from tests.helpers.factories import new_track


async def test_ratings_joined_with_latents_tokens_and_parameters(storage: Storage, tmp_path: Path) -> None:
    a = await storage.tracks.add(new_track(guild_id=1, seed=11, latent=np.full(16, 0.5), tokens={"melody": np.arange(8, dtype=np.int16)}))
    b = await storage.tracks.add(new_track(guild_id=1, seed=22, latent=None, tokens=None, style="rock"))
    c = await storage.tracks.add(new_track(guild_id=2, seed=33))
    await storage.ratings.set(1, a.id, 5)
    await storage.ratings.set(2, a.id, 3)
    await storage.ratings.set(1, b.id, 2)
    await storage.ratings.set(1, c.id, 4)

    data = await export_ratings(storage.db, guild_id=1)
    assert len(data) == 3
    assert data.track_ids.tolist() == [a.id, a.id, b.id] and data.user_ids.tolist() == [1, 2, 1]
    assert data.scores.tolist() == [5.0, 3.0, 2.0]
    assert data.latents.shape == (3, 16) and data.has_latent.tolist() == [True, True, False]
    np.testing.assert_allclose(data.latents[0], 0.5)
    assert data.styles == ["jazz", "jazz", "rock"]
    assert data.records[0].seed == 11 and data.records[0].tokens["melody"].tolist() == list(range(8))
    ids, means, counts = data.track_means()
    assert ids.tolist() == [a.id, b.id] and means.tolist() == [4.0, 2.0] and counts.tolist() == [2, 1]

    path = tmp_path / "export.npz"
    data.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert archive["seeds"].tolist() == [11, 11, 22]
        assert load_tokens(archive, "melody", 1).tolist() == list(range(8))
        assert load_tokens(archive, "melody", 2).size == 0  # track b has no tokens

    assert len(await export_ratings(storage.db)) == 4


async def test_mixed_latent_sizes_are_refused(storage: Storage) -> None:
    a = await storage.tracks.add(new_track(latent=np.ones(4)))
    b = await storage.tracks.add(new_track(latent=np.ones(8), model_version="v2"))
    await storage.ratings.set(1, a.id, 5)
    await storage.ratings.set(1, b.id, 5)
    with pytest.raises(ValueError, match="one model version at a time"):
        await export_ratings(storage.db)
    assert len(await export_ratings(storage.db, model_version="v2")) == 1


async def test_a_forgotten_users_rows_leave_every_export_on_disk(storage: Storage, tmp_path: Path) -> None:
    a = await storage.tracks.add(new_track(seed=11, tokens={"melody": np.arange(8, dtype=np.int16)}))
    b = await storage.tracks.add(new_track(seed=22, tokens={"melody": np.arange(5, dtype=np.int16) + 100}))
    await storage.ratings.set(1, a.id, 5)
    await storage.ratings.set(2, a.id, 3)
    await storage.ratings.set(1, b.id, 2)
    await storage.ratings.set(2, b.id, 4)
    models = tmp_path / "models"
    (await export_ratings(storage.db)).save(models / "20260101-000000" / "ratings.npz")
    (await export_ratings(storage.db)).save(models / "20260102-000000" / "ratings.npz")
    np.savez(models / "20260102-000000" / "replay.npz", melody=np.arange(4))  # not a ratings export: left alone

    scrub = remove_user_from_exports(models, 1)

    assert (scrub.files_changed, scrub.rows_removed) == (2, 4)
    for path in models.glob("*/ratings.npz"):
        with np.load(path, allow_pickle=False) as archive:
            assert archive["user_ids"].tolist() == [2, 2]
            assert archive["track_ids"].tolist() == [a.id, b.id] and archive["scores"].tolist() == [3.0, 4.0]
            assert archive["seeds"].tolist() == [11, 22] and len(archive["latents"]) == 2
            assert load_tokens(archive, "melody", 0).tolist() == list(range(8))
            assert load_tokens(archive, "melody", 1).tolist() == list(range(100, 105))
    with np.load(models / "20260102-000000" / "replay.npz") as replay:
        assert replay["melody"].tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in models.rglob("*.npz")) == ["ratings.npz", "ratings.npz", "replay.npz"]
    assert remove_user_from_exports(models, 1).rows_removed == 0
    assert remove_user_from_exports(tmp_path / "nowhere", 1).files_changed == 0
