from __future__ import annotations

from pathlib import Path

import pytest

from storage import JobStateError, Scope, Storage


async def test_life_cycle(storage: Storage) -> None:
    job = await storage.jobs.create(
        "compose", {"style": "jazz", "mood": "calm"}, user_id=1, guild_id=2, channel_id=3, application_id=4, interaction_token="tok"
    )
    assert job.status == "queued" and job.in_flight and job.request == {"style": "jazz", "mood": "calm"}
    running = await storage.jobs.start(job.id)
    assert running.status == "running" and running.started_at is not None
    done = await storage.jobs.finish(job.id, track_id=None, message_id=99)
    assert done.status == "done" and done.finished_at is not None and done.message_id == 99
    with pytest.raises(JobStateError, match="is done"):
        await storage.jobs.fail(job.id, "late")
    with pytest.raises(LookupError, match="no job #999"):
        await storage.jobs.start(999)


async def test_failure_keeps_the_message(storage: Storage) -> None:
    job = await storage.jobs.create("compose", {}, user_id=1)
    failed = await storage.jobs.fail(job.id, "The engine ran out of time.")
    assert failed.status == "failed" and failed.error == "The engine ran out of time."


async def test_in_flight_jobs_are_interrupted_on_restart_and_can_resume(database_target: Path | str, tmp_path: Path) -> None:
    db, media = database_target, tmp_path / "media"
    async with await Storage.open(db, media) as before:
        queued = await before.jobs.create("compose", {"n": 1}, user_id=1, guild_id=7, interaction_token="a")
        running = await before.jobs.create("variation", {"n": 2}, user_id=2, guild_id=7, interaction_token="b")
        await before.jobs.start(running.id)
        finished = await before.jobs.create("compose", {"n": 3}, user_id=3)
        await before.jobs.finish(finished.id)
        assert [j.id for j in await before.jobs.in_flight(scope=Scope.guild(7))] == [queued.id, running.id]
    # The process "crashed": a new one opens the same database.
    async with await Storage.open(db, media) as after:
        interrupted = await after.jobs.mark_interrupted_on_startup()
        assert [(j.id, j.status, j.interaction_token) for j in interrupted] == [
            (queued.id, "interrupted", "a"),
            (running.id, "interrupted", "b"),
        ]
        assert all(j.error for j in interrupted)
        assert (await after.jobs.get(finished.id)).status == "done"
        assert await after.jobs.in_flight() == []
        assert await after.jobs.mark_interrupted_on_startup() == []
        resumed = await after.jobs.requeue(queued.id)
        assert resumed.status == "queued" and resumed.error is None
        assert [j.id for j in await after.jobs.in_flight(user_id=1)] == [queued.id]


async def test_jobs_created_together_are_each_committed_with_their_own_row(database_target, tmp_path):
    """Group commit: fifty creates at once share transactions, yet each returns its own committed row."""
    import asyncio

    from storage import Storage

    async with await Storage.open(database_target, tmp_path / "media") as storage:
        jobs = await asyncio.gather(*(storage.jobs.create("compose", {"n": i}, user_id=100 + i % 5, interaction_token=f"t{i}")
                                      for i in range(50)))
        assert len({job.id for job in jobs}) == 50 and [job.request["n"] for job in jobs] == list(range(50))
        assert [await storage.jobs.get(job.id) for job in jobs] == jobs  # what create returns is what was stored
        async with await Storage.open(database_target, tmp_path / "media") as other:
            tokens = {row["interaction_token"] for row in await other.db.fetchall("SELECT interaction_token FROM jobs")}
        assert tokens == {f"t{i}" for i in range(50)}


async def test_a_restarting_shard_interrupts_only_the_jobs_of_its_own_servers(database_target: Path | str, tmp_path: Path) -> None:
    """Two bot processes (shards) share the database: one restarting must not touch the other's live jobs,
    and two claiming at once never both get the same job."""
    import asyncio

    from bot.sharding import ShardScope, shard_of

    db, media = database_target, tmp_path / "media"
    guilds = {shard: [g for g in range(1 << 22, 40 << 22, 1 << 22) if shard_of(g, 2) == shard][:3] for shard in (0, 1)}
    async with await Storage.open(db, media) as writer:
        jobs = {shard: [await writer.jobs.create("compose", {}, user_id=1, guild_id=g) for g in ids] for shard, ids in guilds.items()}
        dm = await writer.jobs.create("compose", {}, user_id=2, guild_id=None)
    shard0, shard1 = ShardScope(2, (0,)), ShardScope(2, (1,))
    async with await Storage.open(db, media) as first, await Storage.open(db, media) as second:
        zero, one = await asyncio.gather(first.jobs.mark_interrupted_on_startup(shard0.holds), second.jobs.mark_interrupted_on_startup(shard1.holds))
        assert [j.id for j in zero] == [j.id for j in jobs[0]] + [dm.id]  # DMs are shard 0's
        assert [j.id for j in one] == [j.id for j in jobs[1]]
        both = ShardScope(2, ())
        assert both.holds(guilds[1][0]) and both.ids == (0, 1)
        # Claimed once: a second claim by a process holding every shard finds nothing left.
        assert await first.jobs.mark_interrupted_on_startup(both.holds) == []


def test_shard_settings(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from tests.helpers.bot import make_settings

    settings = make_settings(tmp_path, shard_count=4, shard_ids="1, 3")
    assert settings.shard_ids == (1, 3) and settings.shard_scope.describe() == "shards 1,3 of 4"
    assert settings.media_dir == tmp_path / "media"
    assert make_settings(tmp_path, media_dir=tmp_path / "shared").media_dir == tmp_path / "shared"
    assert not make_settings(tmp_path).shard_scope.sharded
    with pytest.raises(ValidationError, match="between 0 and shard_count - 1"):
        make_settings(tmp_path, shard_count=2, shard_ids="2")
    with pytest.raises(ValidationError, match="needs shard_count"):
        make_settings(tmp_path, shard_ids="0")


async def test_the_interaction_token_stays_out_of_logs_and_goes_when_no_longer_needed(storage: Storage) -> None:
    """The token answers the interaction after a restart; it is a secret: never in a Job's repr (so never in a log
    line that prints a job), dropped once the job is done or failed, and gone with /forget-me."""
    done = await storage.jobs.create("compose", {}, user_id=1, application_id=4, interaction_token="secret-one")
    failed = await storage.jobs.create("compose", {}, user_id=1, application_id=4, interaction_token="secret-two")
    cut_short = await storage.jobs.create("compose", {}, user_id=2, application_id=4, interaction_token="secret-three")
    assert "secret" not in repr(done) and "secret" not in str([done, failed])
    assert (await storage.jobs.finish(done.id)).interaction_token is None
    assert (await storage.jobs.fail(failed.id, "no")).interaction_token is None
    [interrupted] = await storage.jobs.mark_interrupted_on_startup()
    assert interrupted.interaction_token == "secret-three"  # kept: the restarted bot edits the original response with it
    await storage.users.forget(2)
    assert await storage.db.fetchval("SELECT COUNT(*) FROM jobs WHERE interaction_token IS NOT NULL") == 0
    assert cut_short.id not in [j.id for j in await storage.jobs.recent(limit=10)]
