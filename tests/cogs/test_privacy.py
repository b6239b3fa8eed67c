"""/forget-me through the playground: nothing of the user stays in retrain exports on disk, in tracks others
Regenerated from theirs, or in a track that finishes composing after they asked to be forgotten."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from bot.client import TunesmithBot
from bot.engine import record_serving_version
from bot.playground import Playground
from engine.service import EngineService
from tests.helpers.bot import embed_text, is_ephemeral, make_settings
from tests.helpers.music import MUSIC_COGS, final_message, is_track
from tests.helpers.music import test_checkpoint as checkpoint_under_test  # aliased: pytest would collect a test_ name
from tests.helpers.playground import StartBot

pytestmark = pytest.mark.timeout(300)

PROMPT = "for my cat Miso"


class HeldTicket:
    """A real engine ticket whose result is handed over only once the gate is open."""

    def __init__(self, ticket: Any, gate: asyncio.Event) -> None:
        self._ticket = ticket
        self._gate = gate

    async def result(self) -> Any:
        await self._gate.wait()
        return await self._ticket.result()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ticket, name)


class HeldEngine:
    """The real engine service; while `gate` is closed, finished tracks wait before the bot gets them, so a test
    can act while a compose is in flight without guessing how long composing takes."""

    def __init__(self, engine: EngineService) -> None:
        self._engine = engine
        self.gate = asyncio.Event()
        self.gate.set()

    def submit(self, job: Any) -> HeldTicket:
        return HeldTicket(self._engine.submit(job), self.gate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


@pytest_asyncio.fixture
async def held_bot(playground: Playground, start_bot: StartBot, engine: EngineService, tmp_path: Path) -> TunesmithBot:
    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=HeldEngine(engine), guild_ready_timeout=0.05, reidentify_delay=0))
    await record_serving_version(bot.services.storage, engine.model_version, checkpoint_under_test())
    return bot


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    handle = await pg.run_command(user, command, options or {})
    await handle.acknowledged()
    return await handle.followup(timeout=30)


async def compose(pg: Playground, user: str, **options: Any) -> dict[str, Any]:
    handle = await pg.run_command(user, "compose", options)
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message), message.get("content")
    return message


async def regenerate(pg: Playground, bot: TunesmithBot, user: str, track_id: int) -> Any:
    info = await answer(pg, user, "track", {"id": track_id})
    message = await final_message(await pg.click(user, info, f"ts:regenerate:{track_id}"))
    assert is_track(message), message.get("content")
    track = await bot.services.storage.tracks.by_message(int(message["id"]))
    assert track is not None
    return track


async def forget(pg: Playground, user: str) -> str:
    question = await answer(pg, user, "forget-me")
    assert is_ephemeral(question)
    done = await (await pg.click(user, question, "ts:forget:confirm")).followup(timeout=30)
    return str(done["content"])


async def eventually(check: Any) -> None:
    """Wait for something the bot does in the background (a reaction stored, a job recorded)."""
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot never got there")


async def assert_nothing_names(bot: TunesmithBot, user_id: int) -> None:
    storage = bot.services.storage
    assert await storage.users.get(user_id) is None
    assert await storage.tracks.by_user(user_id) == []
    assert await storage.ratings.by_user(user_id) == []
    assert await storage.jobs.recent(user_id=user_id) == []


async def test_a_compose_that_finishes_after_forget_me_is_stored_anonymised(playground: Playground, held_bot: TunesmithBot) -> None:
    storage = held_bot.services.storage
    held: Any = held_bot.services.engine
    carol = playground.user("carol").id
    held.gate.clear()
    handle = await playground.run_command("carol", "compose", {"style": "jazz", "mood": "calm", "prompt": PROMPT, "seed": 7})
    await handle.acknowledged()
    await eventually(lambda: _has_in_flight(held_bot, carol))

    said = await forget(playground, "carol")
    assert "still being composed" in said and "posted without your name" in said and "Nothing that refers to you remains" in said
    held.gate.set()
    message = await final_message(handle)
    assert is_track(message)

    track = await storage.tracks.by_message(int(message["id"]))
    assert track is not None and track.user_id is None and track.prompt is None
    assert PROMPT not in embed_text(message)
    await assert_nothing_names(held_bot, carol)

    # Someone else's Regenerate of it has no prompt of carol's to copy.
    copy = await regenerate(playground, held_bot, "bob", track.id)
    assert copy.prompt is None and copy.user_id == playground.user("bob").id
    bob_jobs = await storage.jobs.recent(user_id=playground.user("bob").id)
    assert bob_jobs and all(PROMPT not in str(job.request) for job in bob_jobs)
    await assert_nothing_names(held_bot, carol)


async def _has_in_flight(bot: TunesmithBot, user_id: int) -> bool:
    return bool(await bot.services.storage.jobs.in_flight(user_id=user_id))


async def test_forget_me_clears_copies_of_the_prompt_and_ratings_in_retrain_exports(playground: Playground, held_bot: TunesmithBot) -> None:
    storage = held_bot.services.storage
    carol, bob = playground.user("carol").id, playground.user("bob").id
    original = await compose(playground, "carol", style="folk", mood="happy", prompt=PROMPT, seed=3)
    mine = await storage.tracks.by_message(int(original["id"]))
    assert mine is not None and mine.prompt == PROMPT
    copy = await regenerate(playground, held_bot, "bob", mine.id)
    assert copy.prompt == PROMPT  # Regenerate copies the prompt into bob's track (and bob's request)

    # Three members rate both tracks, and an admin starts a retrain (its ratings go to disk), then stops it.
    copy_message = await playground_message(playground, copy.message_id)
    for user, emoji in (("carol", "5️⃣"), ("alice", "4️⃣"), ("bob", "2️⃣")):
        for message in (original, copy_message):
            await playground.add_reaction(user, message, emoji)
    await eventually(lambda: _ratings_at_least(held_bot, 6))
    started = await answer(playground, "alice", "retrain start", {"steps": 10})
    assert "started" in started["content"]
    await answer(playground, "alice", "retrain cancel")
    exports = list(held_bot.settings.models_dir.glob("*/ratings.npz"))
    assert len(exports) == 1 and carol in _export_users(exports[0])

    said = await forget(playground, "carol")
    assert "removed 2 of your rating(s) from 1 saved retraining data set(s)" in said
    assert "removed from 1 track(s) others regenerated" in said

    users = _export_users(exports[0])
    assert carol not in users and sorted(set(users)) == sorted({bob, playground.user("alice").id}) and len(users) == 4
    assert (await storage.tracks.require(copy.id)).prompt is None
    assert (await storage.tracks.require(mine.id)).prompt is None
    bob_jobs = await storage.jobs.recent(user_id=bob)
    assert bob_jobs and all(PROMPT not in str(job.request) for job in bob_jobs)
    await assert_nothing_names(held_bot, carol)


async def playground_message(pg: Playground, message_id: int | None) -> dict[str, Any]:
    assert message_id is not None
    return next(m for m in pg.messages() if m["id"] == str(message_id))


async def _ratings_at_least(bot: TunesmithBot, count: int) -> bool:
    return await bot.services.storage.ratings.count() >= count


def _export_users(path: Path) -> list[int]:
    with np.load(path, allow_pickle=False) as archive:
        return [int(u) for u in archive["user_ids"]]
