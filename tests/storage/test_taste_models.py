"""Per-server taste versions: each server's own history, activation and rollback, never another server's rows."""

from __future__ import annotations

import pytest

from storage import Storage
from storage.taste import TasteModelRepository, TasteVersionError


async def test_versions_are_per_server_and_rollback_walks_back_to_the_shared_model(storage: Storage) -> None:
    tastes = TasteModelRepository(storage.db)
    for version in ("t1", "t2"):
        await tastes.register(10, version, f"taste/10/{version}.pt", "base-x", {"held_out_correlation": 0.5})
    await tastes.register(20, "t1", "taste/20/t1.pt", "base-x")  # the same name on another server is another model
    assert await tastes.active(10) is None and await tastes.active(None) is None
    with pytest.raises(TasteVersionError, match="nothing to roll back"):
        await tastes.rollback(10)

    await tastes.activate(10, "t1")
    await tastes.activate(20, "t1")
    second = await tastes.activate(10, "t2")
    assert second.previous_version == "t1" and second.metrics == {"held_out_correlation": 0.5}
    assert (await tastes.active(20)).path == "taste/20/t1.pt"  # server 10's activation left server 20 alone
    assert [v.version for v in await tastes.history(10)] == ["t2", "t1"] and len(await tastes.history(20)) == 1

    back = await tastes.rollback(10)
    assert back is not None and back.version == "t1" and (await tastes.active(10)).version == "t1"
    assert await tastes.rollback(10) is None  # past the first version: no taste, the shared model as it is
    assert await tastes.active(10) is None
    assert (await tastes.active(20)).version == "t1"
    with pytest.raises(TasteVersionError, match="nothing to roll back"):
        await tastes.rollback(10)


async def test_unknown_and_duplicate_taste_versions(storage: Storage) -> None:
    tastes = TasteModelRepository(storage.db)
    await tastes.register(10, "t1", "a.pt", "base-x")
    with pytest.raises(TasteVersionError, match="already has"):
        await tastes.register(10, "t1", "b.pt", "base-x")
    with pytest.raises(TasteVersionError, match="no taste model 't9'"):
        await tastes.activate(10, "t9")
    with pytest.raises(TasteVersionError, match="no taste model 't1'"):
        await tastes.activate(20, "t1")  # server 20 cannot switch to server 10's model
