"""A bounded load test through the playground: many composes from many users at once, with ratings.

Every interaction is acknowledged within Discord's deadline, every request gets a track or a clear busy
message, nothing is logged as an error, and every rating made during the run is stored. (`tunesmith bench
load` runs the full 1,000-compose version.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.loadtest import load_test

pytestmark = pytest.mark.timeout(600)


async def test_load_through_the_playground(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no tunesmith.toml of the developer's
    report = await load_test(composes=40, users=12, concurrency=20, data_dir=tmp_path / "data")
    assert report.late_acks == 0
    assert report.count("error") == 0 and report.count("unanswered") == 0, [o.message.get("content") for o in report.outcomes if o.kind in ("error", "unanswered")]
    assert report.count("track") + report.count("busy") == 40
    assert report.count("track") >= 20  # per-user caps may turn some away as busy, but most are answered with music
    assert report.ratings_stored == report.ratings_made > 0
    assert report.errors_logged == []
