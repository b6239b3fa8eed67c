"""Helpers for the music cogs' end-to-end tests: the real bot with the real engine service, through the playground."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.client import TunesmithBot
from bot.engine import record_serving_version
from bot.playground import InteractionHandle, Playground
from engine.service import EngineService
from tests.helpers.bot import make_settings
from tests.helpers.playground import StartBot

MUSIC_COGS = ["plugins", "settings", "compose", "rating", "library", "recommend", "privacy", "retrain"]


def is_track(message: dict[str, Any]) -> bool:
    return len(message.get("attachments", [])) >= 3


async def final_message(handle: InteractionHandle, timeout: float = 90) -> dict[str, Any]:
    """Follow the interaction's messages (queue positions, then the result) to the last one: a track or an error."""
    while True:
        message = await handle.followup(timeout=timeout)
        content = message.get("content") or ""
        if is_track(message) or content.startswith("❌") or message.get("flags", 0) & 64 or not content.startswith(("⏳", "🎼")):
            return message


def attachment(message: dict[str, Any], suffix: str) -> dict[str, Any]:
    for item in message["attachments"]:
        if item["filename"].endswith(suffix):
            return item
    raise AssertionError(f"no {suffix} attachment in {[a['filename'] for a in message['attachments']]}")


def test_checkpoint() -> Path | None:
    """TUNESMITH_TEST_CHECKPOINT runs the music tests against another model; by default the shipped one."""
    checkpoint = os.environ.get("TUNESMITH_TEST_CHECKPOINT")
    return Path(checkpoint) if checkpoint else None


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[EngineService]:
    """The real engine service with one render worker: the shipped model, or TUNESMITH_TEST_CHECKPOINT when set."""
    service = EngineService(test_checkpoint(), None, render_workers=1, timeout_s=120)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest_asyncio.fixture
async def music_bot(playground: Playground, start_bot: StartBot, engine: EngineService, tmp_path: Path) -> TunesmithBot:
    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0)
    bot = TunesmithBot(settings, sync_guild_id=playground.guild_id, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0)
    bot = await start_bot(bot)
    # What bot.engine.start_engine does for the engine it starts itself: the serving model is a recorded version.
    await record_serving_version(bot.services.storage, engine.model_version, test_checkpoint())
    return bot
