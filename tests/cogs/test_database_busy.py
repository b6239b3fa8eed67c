"""Another program holds the database longer than the busy timeout: a finished track is kept, the user is told,
and it is stored once (and posted) when the lock goes; a settings change gets an answer."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import CORE_COGS, StartTunesmith, answer, is_ephemeral, make_settings
from tests.helpers.music import MUSIC_COGS, final_message, is_track
from tests.helpers.playground import StartBot
from tests.helpers.processes import DatabaseHolder

pytestmark = pytest.mark.timeout(300)

BUSY_TIMEOUT_S = 1.0  # shorter than the lock is held, whatever the machine's speed: the test releases it itself


async def wait_until(predicate: Any, timeout: float = 120) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_a_track_finished_while_the_database_is_held_is_kept_then_stored_once(
    playground: Playground, start_bot: StartBot, engine: Any, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0, database_busy_timeout_seconds=BUSY_TIMEOUT_S)
    bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    storage = bot.services.storage
    bob = playground.user("bob").id
    workers = engine.render_worker_pids()
    holder: DatabaseHolder | None = None
    for pid in workers:  # the render waits (a real stopped process) until the lock is taken
        os.kill(pid, signal.SIGSTOP)
    try:
        handle = await playground.run_command("bob", "compose", {"style": "blues", "mood": "sad", "seed": 11})
        await handle.acknowledged()

        async def job_running() -> bool:
            jobs = await storage.jobs.recent(user_id=bob, limit=1)
            return bool(jobs) and jobs[0].status == "running"

        await wait_until(job_running)
        holder = await DatabaseHolder.hold(settings.database_path)
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    try:
        told = await final_message(handle)
        assert "finished" in told["content"] and "database is busy" in told["content"] and "kept" in told["content"], told
        assert await storage.tracks.by_user(bob) == []  # reads still work: nothing stored yet, nothing lost either
    finally:
        await holder.release()
    posted = await final_message(handle)
    assert is_track(posted), posted
    [track] = await storage.tracks.by_user(bob)
    assert (track.style, track.mood) == ("blues", "sad")

    async def job_done() -> bool:
        return (await storage.jobs.recent(user_id=bob, limit=1))[0].status == "done"

    await wait_until(job_done)  # recorded just after the track is posted
    [job] = await storage.jobs.recent(user_id=bob, limit=1)
    assert job.track_id == track.id


async def test_a_compose_asked_while_the_database_is_held_is_composed_and_stored_when_it_is_free(
    playground: Playground, start_bot: StartBot, engine: Any, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0, database_busy_timeout_seconds=BUSY_TIMEOUT_S)
    bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    storage = bot.services.storage
    carol = playground.user("carol").id
    completed = engine.stats().completed
    holder = await DatabaseHolder.hold(settings.database_path)
    try:
        handle = await playground.run_command("carol", "compose", {"style": "folk", "mood": "calm", "seed": 12})
        await handle.acknowledged()
        while "database is busy" not in ((told := await handle.followup(timeout=60)).get("content") or ""):
            pass
        assert "composed anyway" in told["content"], told

        async def music_finished() -> bool:
            return engine.stats().completed > completed

        await wait_until(music_finished)  # the engine finished while the database was still held
        assert await storage.tracks.by_user(carol) == []
    finally:
        await holder.release()
    assert is_track(await final_message(handle))
    assert len(await storage.tracks.by_user(carol)) == 1


async def test_a_settings_change_while_the_database_is_held_gets_an_answer(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    bot = await start_tunesmith(enabled_cogs=CORE_COGS, database_busy_timeout_seconds=BUSY_TIMEOUT_S)
    holder = await DatabaseHolder.hold(bot.settings.database_path)
    try:
        refused = await answer(playground, "alice", "settings set cooldown", {"seconds": 12})
    finally:
        await holder.release()
    assert is_ephemeral(refused)
    assert "database is busy" in refused["content"] and "nothing was changed" in refused["content"], refused
    assert (await bot.services.storage.servers.get(playground.guild_id)).cooldown_seconds is None

    done = await answer(playground, "alice", "settings set cooldown", {"seconds": 12})
    assert "Cooldown updated" in done["content"]
    assert (await bot.services.storage.servers.get(playground.guild_id)).cooldown_seconds == 12
