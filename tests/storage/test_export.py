from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage import Storage
from storage.export import export_ratings, load_tokens
from tests.storage.factories import new_track


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
