"""Training runs: recorded when they start, one running at a time, closed once with how they ended."""

from __future__ import annotations

import pytest

from storage import Storage
from storage.runs import TrainingRunError, TrainingRunRepository


async def test_one_run_at_a_time_closed_once_and_the_last_one_per_server(storage: Storage) -> None:
    runs = TrainingRunRepository(storage.db)
    first = await runs.start("taste", 10, 1, "/models/taste-10-a", pid=4242, base_version="base-x")
    assert first.running and first.pid == 4242 and first.result is None and first.progress == {}
    with pytest.raises(TrainingRunError):
        await runs.start("base", None, 2, "/models/b")
    await runs.set_message(first.id, 600, 700)
    await runs.record_progress(first.id, {"stage": "critic", "step": 50, "total": 700})
    await runs.record_result(first.id, {"version": "taste-a", "path": "/models/taste-10-a/taste.pt", "promote": True})
    await runs.record_candidate(first.id, "taste-a")
    ended = await runs.end(first.id, "failed", "the training process stopped unexpectedly")
    assert ended.status == "failed" and ended.pid is None and ended.ended_at is not None and ended.channel_id == 600 and ended.message_id == 700
    assert ended.progress["step"] == 50 and ended.result["version"] == "taste-a" and ended.candidate_version == "taste-a" and not ended.activated
    again = await runs.end(first.id, "interrupted", "later")  # a closed run keeps how it ended
    assert again.status == "failed" and again.outcome == "the training process stopped unexpectedly"
    assert await runs.running() == []

    shared = await runs.start("base", None, 2, "/models/b")
    await runs.end(shared.id, "cancelled", "cancelled by an admin")
    assert (await runs.last(10)).id == first.id  # a server's admins see their taste's runs
    assert (await runs.last(10, include_shared=True)).id == shared.id  # owners also the shared model's
    assert await runs.last(20) is None
    await runs.mark_activated("taste-a", 10)
    assert (await runs.get(first.id)).activated
