"""/retrain and /model through the playground: a server's admins teach the composer that server's taste only,
in a separate process, versioned per server with rollback; the shared model is for the bot's owners."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from storage import NewTrack, Storage
from storage.runs import TrainingRun, TrainingRunRepository
from storage.taste import TasteModelRepository
from tests.helpers.messages import PlaygroundMessage, answer_message, channel_message
from tests.helpers.music import final_message, is_track
from tests.helpers.processes import command_line, is_running, wait_until_gone

pytestmark = pytest.mark.timeout(300)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

RATING_EMOJI = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> PlaygroundMessage:
    return await answer_message(pg, user, command, options)


async def wait_for_ratings(music_bot: TunesmithBot, n: int) -> None:
    for _ in range(100):
        if await music_bot.services.storage.ratings.count() >= n:
            return
        await asyncio.sleep(0.1)
    assert await music_bot.services.storage.ratings.count() >= n


async def test_retrain_learns_this_servers_taste_with_refusals(playground: Playground, music_bot: TunesmithBot) -> None:
    refused = await answer(playground, "bob", "retrain start")
    assert refused.ephemeral and "Only server admins" in refused.content
    too_few = await answer(playground, "alice", "retrain start")
    assert too_few.ephemeral and "only 0 ratings" in too_few.content and "at least 5" in too_few.content
    nothing = await answer(playground, "alice", "retrain cancel")
    assert nothing.ephemeral and "No retrain is running for this server" in nothing.content
    # The shared model every server uses is not a server admin's to change.
    base = await answer(playground, "alice", "retrain base")
    assert base.ephemeral and "Only the bot's owners" in base.content
    shared = await answer(playground, "alice", "model rollback", {"target": "shared"})
    assert shared.ephemeral and "Only the bot's owners" in shared.content

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
    assert two.ephemeral and "Only 2 member(s)" in two.content and "at least 3 different members" in two.content
    assert not any(music_bot.settings.models_dir.rglob("ratings.npz"))  # nothing was exported for it
    for i, message in enumerate(messages):
        await playground.add_reaction("bob", message, RATING_EMOJI[3 if i % 2 == 0 else 1])
    await wait_for_ratings(music_bot, 24)

    started = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert started.ephemeral and "started" in started.content and "by 3 members" in started.content, started
    assert "Only this server's compositions will change" in started.content
    busy = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert "already running" in busy.content
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
    assert history.ephemeral and versions[0].version in history.content
    info = await answer(playground, "alice", "model info")
    assert info.ephemeral and info.embeds


async def autocomplete_versions(playground: Playground) -> list[str]:
    choices = await playground.autocomplete("alice", "model activate", {"version": ""}, focused="version")
    return [str(c["value"]) for c in choices]


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
    assert trained["version"] in info.text

    rolled = await answer(playground, "alice", "model rollback")
    assert rolled.ephemeral and "shared model as it is again" in rolled.content
    assert await tastes.active(playground.guild_id) is None and (await tastes.active(other_server)).version == trained["version"]
    assert np.allclose(await compose_latent(playground, music_bot, 11), plain, atol=1e-5)
    # A registered taste not in use (a candidate a run left unused, say) can be put in use again by a command.
    assert trained["version"] in await autocomplete_versions(playground)
    activated = await answer(playground, "alice", "model activate", {"version": trained["version"]})
    assert activated.ephemeral and f"now composes with its taste **{trained['version']}**" in activated.content
    assert (await tastes.active(playground.guild_id)).version == trained["version"]
    unknown = await answer(playground, "alice", "model activate", {"version": "taste-nope"})
    assert unknown.ephemeral and "no taste model 'taste-nope'" in unknown.content
    again = await answer(playground, "alice", "model rollback")
    assert "shared model as it is again" in again.content
    nothing = await answer(playground, "alice", "model rollback")
    assert "nothing to roll back" in nothing.content


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


# Runs that end badly: the trainer killed mid-run, the bot itself killed mid-run ---------------------------------


async def rated_library(playground: Playground, bot: TunesmithBot) -> None:
    """Enough for /retrain start: eight tracks near one real track (the serving model's latent space), rated by three members."""
    handle = await playground.run_command("bob", "compose", {"style": "jazz", "mood": "happy", "seed": 1})
    await handle.acknowledged()
    message = await final_message(handle)
    storage = bot.services.storage
    first = await storage.tracks.by_message(int(message["id"]))
    assert first is not None and first.latent is not None
    rng = np.random.default_rng(0)
    ids = []
    # Ratings of posted tracks follow their reactions (the rating cog syncs them at start-up): these eight were not posted.
    for i in range(8):
        latent = (first.latent + rng.normal(0, 0.5, first.latent.shape)).astype(np.float32)
        track = await storage.tracks.add(NewTrack(
            guild_id=playground.guild_id, channel_id=playground.channel_id, user_id=first.user_id, style=("jazz", "folk")[i % 2], mood=("happy", "sad")[i % 2],
            key="C", tempo=100.0, bars=8, seed=100 + i, sampler="gan", model_version=first.model_version, latent=latent,
        ))  # fmt: skip
        ids.append(track.id)
    for user, base in ((9001, 4), (9002, 2), (9003, 3)):
        for i, track_id in enumerate(ids):
            await storage.ratings.set(user, track_id, 1 + (base + i) % 5)


async def running_trainer(bot: TunesmithBot, guild_id: int, timeout: float = 180) -> tuple[int, TrainingRun]:
    """Wait until the run reports progress; returns the trainer's pid and the run's record."""
    registry = bot.services.registry
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while registry.current is None or registry.current.last is None:
        if registry.current is None:  # called after "started": the run ended already
            last = await registry.last_run(guild_id, include_shared=False)
            raise AssertionError(f"the run ended before it reported progress: {last}")
        assert loop.time() < deadline, "the trainer reported no progress"
        await asyncio.sleep(0.2)
    record = await registry.runs.get(registry.current.record_id)
    assert record is not None and record.running and record.message_id is not None
    pid = registry.current.process.pid
    assert "engine.taste.train" in command_line(pid) and record.pid == pid
    return pid, record


@linux_only
async def test_a_trainer_killed_mid_run_is_recorded_and_retrain_status_says_so(playground: Playground, music_bot: TunesmithBot) -> None:
    await rated_library(playground, music_bot)
    started = await answer(playground, "alice", "retrain start", {"steps": 5000})
    assert started.ephemeral and "started" in started.content, started
    pid, record = await running_trainer(music_bot, playground.guild_id)
    running = await answer(playground, "alice", "retrain status")
    assert running.ephemeral and "Retraining this server's taste" in running.content

    os.kill(pid, signal.SIGKILL)  # out of memory, an operator, a crash: the trainer is gone without a word
    ended = await playground.wait_for(lambda e: e.kind.startswith("message") and "Retrain failed" in str(e.data), timeout=60)
    assert "stopped unexpectedly" in str(ended.data) and "SIGKILL" in str(ended.data)
    progress = channel_message(playground, record.message_id)
    assert progress.content.startswith("❌ Retrain failed") and "keeps composing as before" in progress.content  # not stuck at some %

    last = await music_bot.services.registry.last_run(playground.guild_id, include_shared=False)
    assert last is not None and last.id == record.id and last.status == "failed" and last.pid is None and last.ended_at is not None
    status = await answer(playground, "alice", "retrain status")
    assert status.ephemeral and "No retrain is running for this server" in status.content
    assert "**failed**" in status.content and "stopped unexpectedly" in status.content, status.content
    assert await TasteModelRepository(music_bot.services.storage.db).active(playground.guild_id) is None  # nothing changed
    # Nothing is left running: the next retrain may start.
    again = await answer(playground, "alice", "retrain start", {"steps": 5000})
    assert "started" in again.content, again
    cancelled = await answer(playground, "alice", "retrain cancel")
    assert "cancelled" in cancelled.content
    await playground.wait_for(lambda e: e.kind.startswith("message") and "Retrain cancelled" in str(e.data), timeout=60)
    assert (await music_bot.services.registry.last_run(playground.guild_id, include_shared=False)).status == "cancelled"


@linux_only
async def test_a_run_the_killed_bot_never_saw_end_is_closed_at_the_next_start(
    playground: Playground, start_bot: Any, engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.engine import record_serving_version
    from tests.helpers.bot import make_settings
    from tests.helpers.music import MUSIC_COGS

    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    first = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    await record_serving_version(first.services.storage, engine.model_version, None)
    await rated_library(playground, first)
    started = await answer(playground, "alice", "retrain start", {"steps": 5000})
    assert "started" in started.content, started
    pid, record = await running_trainer(first, playground.guild_id)
    stuck = channel_message(playground, record.message_id).content
    assert stuck.startswith("🛠️ Retraining") and "%" in stuck

    # SIGKILL of the bot process, as far as the run can tell: nothing of the bot runs any more (it neither follows
    # the trainer nor stops it on the way out), the record still says running, the trainer is orphaned.
    registry = first.services.registry

    async def killed() -> None:
        return None

    monkeypatch.setattr(registry, "stop", killed)
    assert registry._task is not None
    registry._task.cancel()
    await first.close()
    assert is_running(pid)

    second = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    assert not await wait_until_gone({pid}, timeout=30), "the orphaned trainer was left running"
    closed = await second.services.registry.runs.get(record.id)
    assert closed is not None and closed.status == "interrupted" and "the bot stopped while it ran" in (closed.outcome or "")
    await playground.wait_for(lambda e: e.kind.startswith("message") and "interrupted" in str(e.data), timeout=30)
    progress = channel_message(playground, record.message_id)
    assert progress.content.startswith("⚠️ Retrain of this server's taste interrupted"), progress.content
    status = await answer(playground, "alice", "retrain status")
    assert status.ephemeral and "No retrain is running for this server" in status.content and "**interrupted**" in status.content, status.content
    again = await answer(playground, "alice", "retrain start", {"steps": 5000})  # the stale record no longer blocks a new run
    assert "started" in again.content, again

    # A bot that stops the ordinary way stops its run and says so, in the record and in the progress message.
    pid, record = await running_trainer(second, playground.guild_id)
    await second.close()
    assert not await wait_until_gone({pid}, timeout=30)
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        stopped = await TrainingRunRepository(storage.db).get(record.id)
    assert stopped is not None and stopped.status == "interrupted" and stopped.outcome == "the bot stopped while it ran"
    progress = channel_message(playground, record.message_id)
    assert progress.content.startswith("⚠️ Retrain interrupted: the bot stopped while it ran"), progress.content


async def test_the_shared_model_is_loaded_before_its_records_change(playground: Playground, start_bot: Any, engine: Any, tmp_path: Path) -> None:
    """/model activate|rollback target:shared (owners): the engine loads the version first; one it cannot load changes nothing."""
    from bot.engine import SHIPPED_CHECKPOINT, record_serving_version
    from tests.helpers.bot import make_settings
    from tests.helpers.music import MUSIC_COGS

    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0, owner_ids=[playground.user("alice").id])
    bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    models = bot.services.storage.models
    serving = engine.model_version
    await record_serving_version(bot.services.storage, serving, None)
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint")
    await models.register("damaged", str(damaged))

    refused = await answer(playground, "bob", "model activate", {"version": "damaged", "target": "shared"})
    assert refused.ephemeral and "Only" in refused.content and (await models.active()).version == serving
    failed = await answer(playground, "alice", "model activate", {"version": "damaged", "target": "shared"})
    assert failed.ephemeral and "could not be loaded" in failed.content and "Nothing changed" in failed.content, failed.content
    assert (await models.active()).version == serving and not (await models.get("damaged")).active
    assert engine.model_version == serving

    # The records say the damaged one came before: rolling back to it fails and leaves them as they were.
    await models.register("second", str(SHIPPED_CHECKPOINT))
    await models.activate("damaged")  # as a promotion that swapped and then saw its file damaged would leave it
    await models.activate("second")
    rollback = await answer(playground, "alice", "model rollback", {"target": "shared"})
    assert "could not be loaded" in rollback.content and "Nothing was rolled back" in rollback.content, rollback.content
    active = await models.active()
    assert active.version == "second" and active.previous_version == "damaged"
    assert engine.model_version == serving
