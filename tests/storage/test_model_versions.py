from __future__ import annotations

import pytest

from storage import ModelVersionError, Storage
from tests.helpers.postgres import integrity_errors


async def test_activation_is_exclusive_and_rollback_walks_back(storage: Storage) -> None:
    for version in ("v1", "v2", "v3"):
        await storage.models.register(version, f"models/{version}.pt", {"val_loss": 1.0})
    assert await storage.models.active() is None
    with pytest.raises(ModelVersionError, match="nothing to roll back"):
        await storage.models.rollback()

    await storage.models.activate("v1")
    await storage.models.activate("v2")
    active = await storage.models.activate("v3")
    assert active.active and active.previous_version == "v2"
    assert [m.version for m in await storage.models.history() if m.active] == ["v3"]

    assert (await storage.models.rollback()).version == "v2"
    assert (await storage.models.active()).version == "v2"
    assert (await storage.models.rollback()).version == "v1"
    with pytest.raises(ModelVersionError, match="no earlier version"):
        await storage.models.rollback()
    assert (await storage.models.active()).version == "v1"


async def test_activating_the_active_version_changes_nothing(storage: Storage) -> None:
    await storage.models.register("v1", "a.pt")
    await storage.models.register("v2", "b.pt")
    await storage.models.activate("v1")
    await storage.models.activate("v2")
    again = await storage.models.activate("v2")
    assert again.previous_version == "v1"


async def test_unknown_and_duplicate_versions(storage: Storage) -> None:
    await storage.models.register("v1", "a.pt")
    with pytest.raises(ModelVersionError, match="already exists"):
        await storage.models.register("v1", "b.pt")
    with pytest.raises(ModelVersionError, match="no model version 'v9'"):
        await storage.models.activate("v9")


async def test_history_and_metrics(storage: Storage) -> None:
    await storage.models.register("v1", "a.pt", {"val_loss": 2.0})
    await storage.models.register("v2", "b.pt")
    updated = await storage.models.update_metrics("v1", {"novelty": 0.9})
    assert updated.metrics == {"val_loss": 2.0, "novelty": 0.9}
    assert [m.version for m in await storage.models.history()] == ["v2", "v1"]


async def test_database_itself_refuses_two_active_versions(storage: Storage) -> None:
    await storage.models.register("v1", "a.pt")
    await storage.models.register("v2", "b.pt")
    await storage.models.activate("v1")
    with pytest.raises(integrity_errors()):
        await storage.db.execute("UPDATE model_versions SET active = 1 WHERE version = 'v2'")
