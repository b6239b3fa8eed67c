"""/retrain and /model through the playground: admins only, fine-tuning in a separate process, promotion or not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import is_ephemeral
from tests.helpers.music import final_message, is_track

pytestmark = pytest.mark.timeout(300)

RATING_EMOJI = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    handle = await pg.run_command(user, command, options or {})
    await handle.acknowledged()
    return await handle.followup(timeout=30)


async def test_retrain_refusals_and_a_full_run(playground: Playground, music_bot: TunesmithBot) -> None:
    refused = await answer(playground, "bob", "retrain start")
    assert is_ephemeral(refused) and "Only server admins" in refused["content"]
    too_few = await answer(playground, "alice", "retrain start")
    assert is_ephemeral(too_few) and "at least 5" in too_few["content"]
    nothing = await answer(playground, "alice", "retrain cancel")
    assert is_ephemeral(nothing) and "No retrain is running" in nothing["content"]

    storage = music_bot.services.storage
    for i, (style, mood) in enumerate((("jazz", "calm"), ("pop", "happy"), ("folk", "sad"), ("rock", "energetic"))):
        handle = await playground.run_command("bob", "compose", {"style": style, "mood": mood, "seed": i})
        await handle.acknowledged()
        message = await final_message(handle)
        assert is_track(message)
        for user, score in (("carol", 1 + (i * 2) % 5), ("alice", 5 - i)):
            await playground.add_reaction(user, message, RATING_EMOJI[score - 1])
    for _ in range(100):
        if await storage.ratings.count() >= 8:
            break
        await asyncio.sleep(0.1)
    assert await storage.ratings.count() >= 8

    # Eight ratings, but from two members only: one or two people's taste must not decide the model.
    two = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert is_ephemeral(two) and "Only 2 member(s)" in two["content"] and "at least 3 different members" in two["content"]
    assert not any(music_bot.settings.models_dir.glob("*/ratings.npz"))  # nothing was exported for it
    await playground.add_reaction("bob", message, RATING_EMOJI[2])
    for _ in range(100):
        if await storage.ratings.count() >= 9:
            break
        await asyncio.sleep(0.1)

    started = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert is_ephemeral(started) and "started" in started["content"] and "from 3 members" in started["content"]
    busy = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert "already running" in busy["content"]
    progress = await playground.wait_for(
        lambda e: e.kind.startswith("message") and any(mark in str(e.data) for mark in ("Promoted", "not promoted", "Retrain failed")), timeout=240
    )
    text = str(progress.data)
    assert "Retrain failed" not in text, text
    history = await answer(playground, "alice", "model history")
    assert is_ephemeral(history)
    if "Promoted" in text:
        active = await storage.models.active()
        assert active is not None and active.version in history["content"]
        assert music_bot.services.engine.model_version == active.version
        rolled = await answer(playground, "alice", "model rollback")
        assert "Rolled back" in rolled["content"] or "no earlier version" in rolled["content"]
    info = await answer(playground, "alice", "model info")
    assert is_ephemeral(info) and info["embeds"]


async def test_track_buttons_survive_a_restart(playground: Playground, start_bot: Any, engine: Any, tmp_path: Any) -> None:
    from tests.helpers.bot import make_settings
    from tests.helpers.music import MUSIC_COGS

    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    first = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    handle = await playground.run_command("bob", "compose", {"style": "latin", "mood": "dreamy", "seed": 4})
    await handle.acknowledged()
    message = await final_message(handle)
    track = await first.services.storage.tracks.by_message(int(message["id"]))
    assert track is not None
    await first.close()
    await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    variation = await final_message(await playground.click("carol", message, f"ts:variation:{track.id}"))
    assert is_track(variation)
