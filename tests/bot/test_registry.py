"""The model registry's order for the shared model: register, swap the model in the engine, then activate the
record; a swap that fails changes no record (promotion, activation and rollback alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from bot.errors import UserFacingError
from bot.registry import ModelRegistry
from bot.services import Services
from engine.service import EngineFailure
from storage import Storage
from tests.helpers.bot import make_settings


@dataclass
class RecordingEngine:
    """An engine whose swap_model notes which version the records called active at that moment, and fails for `broken` paths."""

    storage: Storage
    broken: set[str] = field(default_factory=set)
    swaps: list[tuple[str, str | None]] = field(default_factory=list)  # (path loaded, active record while loading)
    model_version: str = "v1"

    async def swap_model(self, path: Path | None) -> str:
        active = await self.storage.models.active()
        self.swaps.append((str(path), active.version if active else None))
        if str(path) in self.broken:
            raise EngineFailure(f"Could not load the model at {path}: damaged")
        return str(path)

    async def stop(self) -> None:
        return None


@pytest_asyncio.fixture
async def registry(tmp_path: Path) -> AsyncIterator[tuple[ModelRegistry, Storage, RecordingEngine]]:
    settings = make_settings(tmp_path / "data")
    storage = await Storage.open(settings.database_path, settings.media_dir)
    engine = RecordingEngine(storage)
    await storage.models.register("v1", "/models/v1.pt")
    await storage.models.activate("v1")
    await storage.models.register("v2", "/models/v2.pt")
    await storage.models.activate("v2")
    try:
        yield ModelRegistry(Services(settings, storage=storage, engine=engine)), storage, engine
    finally:
        await storage.close()


async def test_rollback_loads_the_previous_model_before_the_records_change(registry: tuple[ModelRegistry, Storage, RecordingEngine]) -> None:
    service, storage, engine = registry
    previous = await service.rollback_shared()
    assert previous.version == "v1" and (await storage.models.active()).version == "v1"
    assert engine.swaps == [("/models/v1.pt", "v2")]  # swapped while the records still said v2


async def test_a_rollback_whose_model_cannot_be_loaded_changes_no_record(registry: tuple[ModelRegistry, Storage, RecordingEngine]) -> None:
    service, storage, engine = registry
    engine.broken.add("/models/v1.pt")
    with pytest.raises(UserFacingError, match="v1 could not be loaded.*Nothing was rolled back"):
        await service.rollback_shared()
    active = await storage.models.active()
    assert active is not None and active.version == "v2" and active.previous_version == "v1"


async def test_activating_a_registered_candidate_swaps_first_and_a_failed_swap_leaves_it_inactive(registry: tuple[ModelRegistry, Storage, RecordingEngine]) -> None:
    service, storage, engine = registry
    await storage.models.register("v3", "/models/v3.pt")
    engine.broken.add("/models/v3.pt")
    with pytest.raises(UserFacingError, match="v3 could not be loaded.*Nothing changed"):
        await service.activate_shared("v3")
    assert (await storage.models.active()).version == "v2" and not (await storage.models.get("v3")).active
    engine.broken.clear()
    activated = await service.activate_shared("v3")  # the stranded candidate, put in use by a command
    assert activated.active and activated.previous_version == "v2"
    assert engine.swaps[-1] == ("/models/v3.pt", "v2")
    with pytest.raises(UserFacingError, match="no model version 'v9'"):
        await service.activate_shared("v9")


async def test_rollback_with_nothing_before_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        service = ModelRegistry(Services(settings, storage=storage, engine=RecordingEngine(storage)))
        with pytest.raises(UserFacingError, match="nothing to roll back"):
            await service.rollback_shared()
        await storage.models.register("v1", "/models/v1.pt")
        await storage.models.activate("v1")
        with pytest.raises(UserFacingError, match="no earlier version"):
            await service.rollback_shared()


def test_the_trainers_events_read_back_as_written() -> None:
    import io

    from engine.training_events import Failed, Finished, Progress, emit, parse

    events = [Progress("critic", 50, 700, 1.5, {"loss": 0.25}), Finished("taste-x", "/m/taste.pt", False, "barely follows", {"raters": 3}), Failed("no ratings")]
    out = io.StringIO()
    for event in events:
        emit(event, out)
    lines = out.getvalue().splitlines()
    assert [parse(line) for line in lines] == events
    assert '"event": "progress"' in lines[0] and '"loss": 0.25' in lines[0] and '"event": "done"' in lines[1] and '"event": "error"' in lines[2]
    assert parse("Using libfluidsynth from /usr/lib") is None and parse('{"event": "done"}') is None and parse('{"event": "other"}') is None


async def test_start_up_closes_a_run_a_killed_bot_left_running_and_keeps_the_candidate_it_had_written(
    registry: tuple[ModelRegistry, Storage, RecordingEngine], tmp_path: Path
) -> None:
    import os

    from engine.training_events import Finished
    from storage.runs import TrainingRunRepository

    service, storage, _ = registry
    runs = TrainingRunRepository(storage.db)
    taste = tmp_path / "run" / "taste.pt"
    taste.parent.mkdir()
    taste.write_bytes(b"a taste")
    # The trainer had finished and the bot had recorded its result, then died before registering it. The pid
    # recorded is now someone else's (here: this test's own process): it must not be killed.
    record = await runs.start("taste", 77, 1, str(taste.parent), pid=os.getpid(), base_version="v2")
    await runs.record_result(record.id, Finished("taste-a", str(taste), False, "barely follows", {"raters": 3}).fields())
    await runs.record_progress(record.id, {"stage": "actor", "step": 700, "total": 700})
    closed = await service.recover()
    assert [r.id for r in closed] == [record.id] and closed[0].status == "interrupted" and closed[0].pid is None
    assert closed[0].candidate_version == "taste-a" and not closed[0].activated and "kept" in (closed[0].outcome or "")
    assert await service.unused_candidates(77) == ["taste-a"]
    assert await service.recover() == []  # closed once
    activated = await service.activate_taste(77, "taste-a")
    assert activated.active and (await runs.get(record.id)).activated
    # A new run may be recorded now that none is running.
    assert (await runs.start("taste", 77, 1, str(tmp_path / "next"))).running
