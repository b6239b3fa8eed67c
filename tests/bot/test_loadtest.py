"""A bounded load test through the playground: many composes from many users at once, with ratings.

Every interaction is acknowledged (before any answer: the playground refuses answers to an unacknowledged
interaction), every request gets a track or a clear busy message, nothing is logged as an error, and every
rating made during the run is stored. It asserts what happens, not how fast: the playground's deadline is
generous here, and `tunesmith bench load` (the full 1,000-compose version, with Discord's 3 s) measures speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.loadtest import load_test
from tests.helpers.playground import TEST_ACK_DEADLINE_S

pytestmark = pytest.mark.timeout(600)


async def test_load_through_the_playground(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no tunesmith.toml of the developer's
    report = await load_test(composes=40, users=12, concurrency=20, data_dir=tmp_path / "data", ack_deadline=TEST_ACK_DEADLINE_S)
    assert report.unacknowledged == 0
    by_answer = {(o.ack_type, o.kind) for o in report.outcomes}
    # A track follows a deferral ("thinking"); a busy answer is a deferral's edit or an ephemeral message at once.
    assert by_answer <= {(5, "track"), (5, "busy"), (4, "busy")}, by_answer
    assert report.count("error") == 0 and report.count("unanswered") == 0, [o.message.get("content") for o in report.outcomes if o.kind in ("error", "unanswered")]
    assert report.count("track") + report.count("busy") == 40
    assert report.count("track") >= 20  # per-user caps may turn some away as busy, but most are answered with music
    assert report.ratings_stored == report.ratings_made > 0
    assert report.errors_logged == []
