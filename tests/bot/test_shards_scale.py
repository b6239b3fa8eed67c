"""A sharded bot, end to end: two bot shard processes (real OS processes) sharing one database and one media
folder, the playground with servers on both shards, composes across the servers, one shard process killed with
SIGKILL and started again while it has tracks in flight; on Ray (the heavy run) a render replica is killed
mid-run too. Asserted: every user is answered (a track, or the restarted process's "please run it again"
followed by a track when they do), no acknowledged rating and no finished track (nor its files) is lost, only
the killed shard's jobs are interrupted and each of them is told once, buttons on a track the killed process
made work on the new one. Behaviour only: nothing here measures time (`tunesmith bench scale --shards 2` does).

The short run (20 composes, each shard's engine embedded, one SQLite file shared by both processes) is in
`make test`; the heavy one (200 composes on a local Ray cluster, a head and a worker node started and stopped
here, and PostgreSQL, tests/helpers/postgres.py) is marked `scale`:
`python -m pytest -m scale tests/bot/test_shards_scale.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.scale import ScenarioReport, ShardedBot, run_scenario
from bot.sharding import shard_of


def check(report: ScenarioReport, bot: ShardedBot, composes: int) -> None:
    outcomes = report.composes
    assert len(outcomes) == composes
    assert all(c.kind == "track" for c in report.warmup), [(c.kind, c.detail) for c in report.warmup]
    problems = [(c.index, c.shard, c.kind, c.detail) for c in outcomes if not c.answered_with_track]
    assert problems == [], f"users not answered with a track: {problems}\n{bot.log_tail(0)}\n{bot.log_tail(1)}"
    # Servers on both shards were used, and each shard answered its own.
    assert {c.shard for c in outcomes} == {0, 1}
    # Only the killed shard's jobs were interrupted; each of them was told once, and its user ran it again.
    interrupted = [c for c in outcomes if c.kind == "interrupted"]
    assert set(report.interrupted_jobs) <= {report.bot_killed}
    assert len(report.interrupted_jobs.get(report.bot_killed, [])) == len(interrupted)
    assert all(c.shard == report.bot_killed for c in interrupted)
    # No acknowledged rating, no finished track and none of its files lost.
    assert report.rated and report.ratings_kept == len(report.rated)
    assert report.tracks_before_kill and report.tracks_kept == len(report.tracks_before_kill) == report.media_kept
    # A track's buttons work on whichever process holds its server now (the killed one's on its new process).
    assert [b.kind for b in report.buttons] == ["track", "track"], [(b.kind, b.detail) for b in report.buttons]
    assert report.jobs_in_flight_after == 0
    # Every track is answered once: no interaction got two tracks, no two composes share a track.
    tracks = [c.track_id for c in outcomes if c.track_id is not None] + [c.retried.track_id for c in interrupted if c.retried]
    assert len(tracks) == len(set(tracks))
    assert all(shard_of(c.guild_id, 2) == c.shard for c in outcomes)


async def test_two_shard_processes_share_the_database_and_survive_one_being_killed(tmp_path: Path) -> None:
    composes = 20
    async with ShardedBot(tmp_path / "data", guilds_per_shard=2, users=8, env={"TUNESMITH_RENDER_WORKERS": "1"}) as bot:
        report = await run_scenario(bot, composes, bars=4, kill_shard=1)
        check(report, bot, composes)
        assert bot.shards[1].starts == 2 and bot.shards[0].starts == 1


@pytest.mark.scale
@pytest.mark.timeout(1800)
async def test_two_hundred_composes_on_two_shards_and_a_ray_cluster_with_a_render_replica_and_a_shard_killed(tmp_path: Path, postgres_url: str) -> None:
    pytest.importorskip("ray.serve", reason="the Ray backend needs tunesmith[scale]")
    from engine.service.ray_backend import LocalRayCluster

    composes = 200
    cluster = LocalRayCluster(head_cpus=2, workers=1, worker_cpus=2)
    address = cluster.start()
    try:
        # 100 composes at once on two cores take minutes: the time-out is the queue's, not a hung piece's.
        env = {"TUNESMITH_ENGINE_BACKEND": "ray", "TUNESMITH_RAY_ADDRESS": address, "TUNESMITH_RENDER_WORKERS": "1",
               "TUNESMITH_REQUEST_TIMEOUT_SECONDS": "900"}
        async with ShardedBot(tmp_path / "data", guilds_per_shard=4, users=40, env=env, database_url=postgres_url) as bot:
            report = await run_scenario(bot, composes, bars=4, kill_render=True, kill_shard=1)
            check(report, bot, composes)
            assert report.render_replicas_killed == 1
    finally:
        cluster.shutdown()
