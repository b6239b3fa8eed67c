"""/retrain and /model through the playground: a server's admins teach the composer that server's taste only,
in a separate process, versioned per server with rollback; the shared model is for the bot's owners."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from storage.taste import TasteModelRepository
from tests.helpers.bot import is_ephemeral
from tests.helpers.music import final_message, is_track

pytestmark = pytest.mark.timeout(300)

RATING_EMOJI = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    handle = await pg.run_command(user, command, options or {})
    await handle.acknowledged()
    return await handle.followup(timeout=30)


async def wait_for_ratings(music_bot: TunesmithBot, n: int) -> None:
    for _ in range(100):
        if await music_bot.services.storage.ratings.count() >= n:
            return
        await asyncio.sleep(0.1)
    assert await music_bot.services.storage.ratings.count() >= n


async def test_retrain_learns_this_servers_taste_with_refusals(playground: Playground, music_bot: TunesmithBot) -> None:
    refused = await answer(playground, "bob", "retrain start")
    assert is_ephemeral(refused) and "Only server admins" in refused["content"]
    too_few = await answer(playground, "alice", "retrain start")
    assert is_ephemeral(too_few) and "only 0 ratings" in too_few["content"] and "at least 5" in too_few["content"]
    nothing = await answer(playground, "alice", "retrain cancel")
    assert is_ephemeral(nothing) and "No retrain is running for this server" in nothing["content"]
    # The shared model every server uses is not a server admin's to change.
    base = await answer(playground, "alice", "retrain base")
    assert is_ephemeral(base) and "Only the bot's owners" in base["content"]
    shared = await answer(playground, "alice", "model rollback", {"target": "shared"})
    assert is_ephemeral(shared) and "Only the bot's owners" in shared["content"]

    messages = []
    for i in range(8):
        handle = await playground.run_command("bob", "compose", {"style": ("jazz", "folk")[i % 2], "mood": ("happy", "sad")[i % 2], "seed": i})
        await handle.acknowledged()
        message = await final_message(handle)
        assert is_track(message)
        messages.append(message)
        for user, score in (("carol", 5 if i % 2 == 0 else 1), ("alice", 4 if i % 2 == 0 else 2)):
            await playground.add_reaction(user, message, RATING_EMOJI[score - 1])
    await wait_for_ratings(music_bot, 16)

    # Sixteen ratings, but from two members only: one or two people's taste must not decide the server's.
    two = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert is_ephemeral(two) and "Only 2 member(s)" in two["content"] and "at least 3 different members" in two["content"]
    assert not any(music_bot.settings.models_dir.rglob("ratings.npz"))  # nothing was exported for it
    for i, message in enumerate(messages):
        await playground.add_reaction("bob", message, RATING_EMOJI[3 if i % 2 == 0 else 1])
    await wait_for_ratings(music_bot, 24)

    started = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert is_ephemeral(started) and "started" in started["content"] and "by 3 members" in started["content"], started
    assert "Only this server's compositions will change" in started["content"]
    busy = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert "already running" in busy["content"]
    outcome = await playground.wait_for(
        lambda e: e.kind.startswith("message") and any(mark in str(e.data) for mark in ("now composes with its own taste", "is not used", "Retrain failed")),
        timeout=240,
    )
    text = str(outcome.data)
    assert "Retrain failed" not in text, text
    versions = await TasteModelRepository(music_bot.services.storage.db).history(playground.guild_id)
    assert len(versions) == 1 and versions[0].metrics["raters"] == 3 and versions[0].base_version == music_bot.services.engine.model_version
    assert versions[0].active == ("now composes with its own taste" in text)
    assert Path(versions[0].path).is_file()
    history = await answer(playground, "alice", "model history")
    assert is_ephemeral(history) and versions[0].version in history["content"]
    info = await answer(playground, "alice", "model info")
    assert is_ephemeral(info) and info["embeds"]


async def compose_latent(playground: Playground, music_bot: TunesmithBot, seed: int) -> np.ndarray:
    handle = await playground.run_command("bob", "compose", {"style": "jazz", "mood": "happy", "seed": seed})
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message)
    track = await music_bot.services.storage.tracks.by_message(int(message["id"]))
    assert track is not None and track.latent is not None
    return track.latent


async def test_a_servers_taste_steers_only_its_compositions_and_rolls_back(playground: Playground, music_bot: TunesmithBot, tmp_path: Path) -> None:
    from engine.generate import Composer
    from engine.taste import simulate
    from engine.taste.train import train_taste

    composer = Composer.load(device="cpu")
    composer.novelty = None
    assert composer.model_version == music_bot.services.engine.model_version
    rng = np.random.default_rng(5)
    a, _ = simulate.default_communities()
    library = simulate.compose(composer, simulate.requests_for(a, 24, rng), 1)
    scale = simulate.Scale(density=2.0, pitch=5.0, tempo=15.0, cuts=np.array([-1.2, -0.8, -0.5, -0.2]))
    ratings = [(m.user_id, t, float(s)) for m in simulate.members_of(a, 3, 1, rng) for t, s in zip(library, simulate.rate(m, library, scale, rng))]
    trained = train_taste(simulate.export_of(ratings, tmp_path / "ratings.npz"), tmp_path / "taste", steps=40, composer=composer, quiet=True)

    tastes = TasteModelRepository(music_bot.services.storage.db)
    other_server = playground.guild_id + 1
    await tastes.register(other_server, trained["version"], trained["path"], composer.model_version)
    await tastes.activate(other_server, trained["version"])
    plain = await compose_latent(playground, music_bot, 11)  # another server's taste does not reach this one

    await tastes.register(playground.guild_id, trained["version"], trained["path"], composer.model_version, trained["metrics"])
    await tastes.activate(playground.guild_id, trained["version"])
    steered = await compose_latent(playground, music_bot, 11)
    assert not np.allclose(plain, steered)
    info = await answer(playground, "alice", "model info")
    assert trained["version"] in str(info["embeds"])

    rolled = await answer(playground, "alice", "model rollback")
    assert is_ephemeral(rolled) and "shared model as it is again" in rolled["content"]
    assert await tastes.active(playground.guild_id) is None and (await tastes.active(other_server)).version == trained["version"]
    assert np.allclose(await compose_latent(playground, music_bot, 11), plain, atol=1e-5)
    nothing = await answer(playground, "alice", "model rollback")
    assert "nothing to roll back" in nothing["content"]


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
