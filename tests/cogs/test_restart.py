"""Restarts lose nothing and leave nobody waiting: a bot SIGKILLed right after acknowledging composes is started
again on the same data; each acknowledged compose ends with its track in its original response (the same
message, edited through the interaction's webhook), and no other message is posted. Past the token's 15
minutes the track comes in a new message in the channel, mentioning the user; a job that cannot be made again is
told there to run it again."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.client import TunesmithBot
from bot.config import PROJECT_ROOT
from bot.playground import Playground
from tests.helpers.bot import make_settings
from tests.helpers.music import MUSIC_COGS, final_message, is_track

pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]


async def held_bot(playground: Playground, data_dir: Path) -> asyncio.subprocess.Process:
    """The bot in its own process (tests/helpers/held_bot.py): it acknowledges composes and never finishes one."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.held_bot", playground.url, playground.bot_token, str(playground.guild_id), str(data_dir),
        cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[bytes] = []  # libraries may print first (pyfluidsynth says where it found its library when CI is set)
    while (line := await asyncio.wait_for(process.stdout.readline(), timeout=180)).strip() != b"ready":
        assert line, f"the held bot ended before it was ready; it printed {seen}"
        seen.append(line)
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL


def bot_messages(playground: Playground) -> list[dict[str, Any]]:
    return [m for m in playground.messages(playground.channel_id) if m["author"]["id"] == str(playground.bot_user.id)]


async def finished_jobs(bot: TunesmithBot, count: int, timeout: float = 60) -> list[Any]:
    """The jobs, once none is in flight (a job is closed just after its track is posted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await bot.services.storage.jobs.in_flight() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    jobs = await bot.services.storage.jobs.recent(limit=count + 5)
    assert len(jobs) == count
    return jobs


async def restarted(playground: Playground, start_bot: Any, engine: Any, data_dir: Path) -> TunesmithBot:
    settings = make_settings(data_dir, enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    return await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))


async def test_composes_acknowledged_before_a_sigkill_end_in_their_original_responses(playground: Playground, start_bot: Any, engine: Any,
                                                                                   tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = await held_bot(playground, data_dir)
    try:
        handles = [await playground.run_command(user, "compose", {"style": "jazz", "mood": "calm", "seed": 60 + i})
                   for i, user in enumerate(["bob", "carol", "alice"])]
        originals = {}
        for handle in handles:
            assert (await handle.acknowledged())["type"] == 5  # deferred: "thinking"
            shown = await handle.followup(timeout=60)
            assert shown["content"] == "🎼 Composing…"
            originals[handle.token] = shown["id"]
    finally:
        await kill(process)
    assert [m["id"] for m in bot_messages(playground)] == list(originals.values())

    bot = await restarted(playground, start_bot, engine, data_dir)
    for handle in handles:
        message = await final_message(handle, timeout=180)
        assert is_track(message), message.get("content")
        assert message["id"] == originals[handle.token]  # the original response, edited: no new message
    assert [m["id"] for m in bot_messages(playground)] == list(originals.values())
    assert all(is_track(m) for m in bot_messages(playground))
    jobs = await finished_jobs(bot, len(originals))
    assert sorted((j.status, j.message_id) for j in jobs) == sorted(("done", int(i)) for i in originals.values())
    assert all(j.interaction_token is None for j in jobs)  # a finished job keeps no token
    for job in jobs:
        track = await bot.services.storage.tracks.require(job.track_id)
        assert track.message_id == job.message_id and track.seed in (60, 61, 62)


async def compose_left_past_its_token(playground: Playground, data_dir: Path, *, without_recipe: bool = False) -> dict[str, Any]:
    """bob's compose, acknowledged by the held bot, which is then SIGKILLed; its record aged 20 minutes (as if the bot
    had stayed down that long: older than Discord's 15-minute token), and with `without_recipe` recorded without one
    (as jobs of older releases were: it cannot be made again). Returns the original response."""
    from storage import Storage, codec

    process = await held_bot(playground, data_dir)
    try:
        handle = await playground.run_command("bob", "compose", {"style": "folk", "mood": "happy", "seed": 5})
        await handle.acknowledged()
        original = await handle.followup(timeout=60)
    finally:
        await kill(process)
    settings = make_settings(data_dir)
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        [job] = await storage.jobs.recent(limit=1)
        old = (job.created_at - timedelta(minutes=20)).isoformat()
        request = {k: v for k, v in job.request.items() if not (without_recipe and k == "recipe")}
        await storage.db.execute("UPDATE jobs SET created_at = ?, request = ? WHERE id = ?", (old, codec.dumps(request), job.id))
    return original


async def test_past_the_token_lifetime_the_track_comes_in_a_new_message_that_mentions_the_user(playground: Playground, start_bot: Any, engine: Any,
                                                                                              tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    original = await compose_left_past_its_token(playground, data_dir)

    bot = await restarted(playground, start_bot, engine, data_dir)
    bob = playground.user("bob").id
    notice = await playground.wait_for(lambda e: e.kind == "message_create" and "restarted while composing" in str(e.data), timeout=60)
    assert notice.message is not None
    assert f"<@{bob}>" in notice.message["content"] and "folk, happy" in notice.message["content"]
    for _ in range(1800):  # composing it again: the job goes interrupted -> queued -> running -> done
        [job] = await bot.services.storage.jobs.recent(limit=1)
        if job.status not in ("interrupted", "queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert job.status == "done" and job.interaction_token is None
    messages = bot_messages(playground)
    assert [m["id"] for m in messages] == [original["id"], notice.message["id"]]  # one new message, edited into the track
    track_message = messages[1]
    assert is_track(track_message) and track_message["content"] == f"<@{bob}>"  # still addressed to bob
    assert job.message_id == int(track_message["id"])
    track = await bot.services.storage.tracks.require(job.track_id)
    assert (track.style, track.mood, track.seed, track.user_id, track.message_id) == ("folk", "happy", 5, bob, job.message_id)


async def test_a_job_that_cannot_be_made_again_past_the_token_lifetime_is_told_in_the_channel(playground: Playground, start_bot: Any, engine: Any,
                                                                                               tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    original = await compose_left_past_its_token(playground, data_dir, without_recipe=True)

    bot = await restarted(playground, start_bot, engine, data_dir)
    event = await playground.wait_for(lambda e: e.kind == "message_create" and "restarted while composing" in str(e.data), timeout=60)
    bob = playground.user("bob").id
    assert f"<@{bob}>" in str(event.data) and "folk, happy" in str(event.data) and "run it again" in str(event.data)
    for _ in range(200):  # the token is dropped just after the user is told
        [job] = await bot.services.storage.jobs.recent(limit=1)
        if job.interaction_token is None:
            break
        await asyncio.sleep(0.05)
    assert job.status == "interrupted" and job.interaction_token is None
    assert [m["id"] for m in bot_messages(playground)][0] == original["id"]
