"""A bounded load test through the playground: many composes from many users at once, with ratings.

Every interaction is acknowledged (before any answer: the playground refuses answers to an unacknowledged
interaction), every request gets a track or a clear busy message, nothing is logged as an error, and every
rating made during the run is stored. It asserts what happens, not how fast: the playground's deadline is
generous here, and `tunesmith bench load` (the full 1,000-compose version, with Discord's 3 s) measures speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.loadtest import compose_steady, load_test
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


class _CountingPlayground:
    """Discord's side for `compose_steady` alone: acknowledges at once, answers each compose with a track a
    moment later, and records how many composes were in flight when each arrived."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.in_flight_at_arrival: list[int] = []

    async def run_command(self, user: str, name: str, options: dict[str, object], channel_id: int | None = None) -> "_Handle":
        self.in_flight += 1
        self.in_flight_at_arrival.append(self.in_flight)
        return _Handle(self, delay=0.005 * (int(options["seed"]) % 7))  # answers finish in a shuffled order


class _Handle:
    def __init__(self, playground: _CountingPlayground, delay: float) -> None:
        self.playground, self.delay = playground, delay

    async def acknowledged(self) -> dict[str, int]:
        return {"type": 5}

    async def followup(self, timeout: float) -> dict[str, object]:
        await asyncio.sleep(self.delay)
        self.playground.in_flight -= 1
        return {"content": "", "attachments": [{}, {}, {}]}


async def test_the_steady_measurement_keeps_every_user_s_compose_in_flight_and_counts_only_the_later_arrivals() -> None:
    playground = _CountingPlayground()
    later = await compose_steady(playground, [f"user{i}" for i in range(5)], bars=8, arrivals=12)  # type: ignore[arg-type]
    assert len(later) == 12 and all(o.kind == "track" and o.ack_type == 5 for o in later)
    assert len(playground.in_flight_at_arrival) == 5 + 12
    # After the opening burst, each arrival replaces an answered compose: the fifth of five in flight, never a sixth.
    assert playground.in_flight_at_arrival[5:] == [5] * 12
