"""Faults while composing, seen from the user's side: the gateway drops mid-job, a render worker is killed,
the server's queue is full, a user composes too fast. The user always gets a track or a clear message."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import is_ephemeral
from tests.helpers.music import final_message, is_track

pytestmark = pytest.mark.timeout(240)


async def test_gateway_drop_mid_job_still_answers(playground: Playground, music_bot: TunesmithBot) -> None:
    handle = await playground.run_command("bob", "compose", {"style": "rock", "mood": "energetic", "seed": 1})
    await handle.acknowledged()
    await playground.drop_gateway()
    message = await final_message(handle)
    assert is_track(message)
    await playground.wait_until_connected(timeout=30)
    again = await playground.run_command("bob", "compose", {"style": "pop", "mood": "happy", "seed": 2})
    await again.acknowledged()
    assert is_track(await final_message(again))


async def test_killed_render_worker_gives_a_clear_error_then_recovers(playground: Playground, music_bot: TunesmithBot) -> None:
    engine: Any = music_bot.services.engine
    handle = await playground.run_command("bob", "compose", {"style": "jazz", "mood": "happy", "bars": 32, "seed": 3})
    await handle.acknowledged()
    for _ in range(200):  # wait until the job reaches a worker, then kill every worker
        if engine.stats().in_flight:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    for pid in engine.render_worker_pids():
        os.kill(pid, signal.SIGKILL)
    message = await final_message(handle)
    assert is_track(message) or message["content"].startswith("❌"), message
    if not is_track(message):
        assert "try again" in message["content"].lower() or "worker" in message["content"].lower()
    job = (await music_bot.services.storage.jobs.recent(user_id=playground.user("bob").id, limit=1))[0]
    assert job.status in ("done", "failed")  # recorded either way: nothing is silently lost
    retry = await playground.run_command("bob", "compose", {"style": "jazz", "mood": "happy", "seed": 4})
    await retry.acknowledged()
    assert is_track(await final_message(retry))


async def test_cooldown_and_server_queue_cap(playground: Playground, music_bot: TunesmithBot) -> None:
    await music_bot.services.storage.servers.update(playground.guild_id, cooldown_seconds=60)
    first = await playground.run_command("carol", "compose", {"style": "folk", "mood": "calm", "seed": 5})
    await first.acknowledged()
    second = await playground.run_command("carol", "compose", {"style": "folk", "mood": "calm", "seed": 6})
    await second.acknowledged()
    refusal = await second.followup()
    assert is_ephemeral(refusal) and "compose again in" in refusal["content"]
    assert is_track(await final_message(first))

    await music_bot.services.storage.servers.update(playground.guild_id, cooldown_seconds=0)
    music_bot.settings.server_queue_cap = 1
    try:
        busy_holder = await playground.run_command("bob", "compose", {"style": "game", "mood": "happy", "bars": 16, "seed": 7})
        await busy_holder.acknowledged()
        blocked = await playground.run_command("alice", "compose", {"style": "game", "mood": "happy", "seed": 8})
        await blocked.acknowledged()
        reply = await blocked.followup()
        assert is_ephemeral(reply) and "on the way" in reply["content"] and "Try again" in reply["content"]
        assert is_track(await final_message(busy_holder))
    finally:
        music_bot.settings.server_queue_cap = 20


async def test_jobs_cut_short_by_a_restart_are_reported_to_their_users(playground: Playground, start_bot: Any, engine: Any, tmp_path: Any) -> None:
    from storage import Storage
    from tests.helpers.bot import make_settings
    from tests.helpers.music import MUSIC_COGS

    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS)
    storage = await Storage.open(settings.database_path, settings.media_dir)
    bob = playground.user("bob").id
    await storage.jobs.create("compose", {"request": {"style": "jazz", "mood": "calm"}}, user_id=bob, guild_id=playground.guild_id, channel_id=playground.channel_id)
    await storage.close()

    bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    event = await playground.wait_for(lambda e: e.kind == "message_create" and "restarted while composing" in str(e.data), timeout=30)
    assert f"<@{bob}>" in str(event.data) and "jazz, calm" in str(event.data)
    job = (await bot.services.storage.jobs.recent(user_id=bob, limit=1))[0]
    assert job.status == "interrupted"


async def test_every_acknowledged_compose_is_already_recorded(playground: Playground, music_bot: TunesmithBot,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash right after the acknowledgement must not lose the job: each job is committed before the bot
    shows "thinking" (seen from the playground at the moment the real commit returns), for ten at once."""
    jobs = music_bot.services.storage.jobs
    real_create = jobs.create
    acknowledged_at_commit: dict[str, bool] = {}

    async def observed_create(*args: Any, **kwargs: Any) -> Any:
        job = await real_create(*args, **kwargs)
        record = playground.interactions.by_token[kwargs["interaction_token"]]
        acknowledged_at_commit[record.token] = record.callback is not None
        return job

    monkeypatch.setattr(jobs, "create", observed_create)
    handles = await asyncio.gather(*(playground.run_command(user, "compose", {"style": "folk", "mood": "calm", "seed": 40 + i})
                                     for i, user in enumerate(["carol", "bob"] * 5)))
    callbacks = await asyncio.gather(*(h.acknowledged() for h in handles))
    deferred = {h.token for h, callback in zip(handles, callbacks) if callback["type"] == 5}  # accepted and thinking
    assert deferred and deferred <= set(acknowledged_at_commit)
    assert not any(acknowledged_at_commit[token] for token in deferred)  # committed first, acknowledged after
    for handle, callback in zip(handles, callbacks):
        if callback["type"] == 5:
            await final_message(handle)
