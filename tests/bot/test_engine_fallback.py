"""A damaged checkpoint of the active model version: the bot still starts, serves the previous or the shipped
model, and says so, naming the file and the version, in its log and to admins in /model info."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.client import TunesmithBot
from bot.engine import SHIPPED_CHECKPOINT
from bot.playground import Playground
from storage import Storage
from tests.helpers.bot import answer, embed_text, make_settings
from tests.helpers.playground import StartBot

pytestmark = pytest.mark.timeout(400)


def shipped_version() -> str:
    from engine.checkpoint import load_checkpoint

    return load_checkpoint(SHIPPED_CHECKPOINT).version


def damaged_copy_of_the_shipped_model(path: Path) -> Path:
    """The first half of a real checkpoint: what a disk filling up during a promotion leaves."""
    data = SHIPPED_CHECKPOINT.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


async def test_a_damaged_active_checkpoint_falls_back_to_the_shipped_model_and_says_so(
    playground: Playground, start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=["plugins", "retrain"], start_engine=True, render_workers=1)
    broken = damaged_copy_of_the_shipped_model(tmp_path / "promoted.pt")
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        await storage.models.register("base-2026-11-30-deadbeef", str(broken))
        await storage.models.activate("base-2026-11-30-deadbeef")

    with caplog.at_level(logging.WARNING, logger="bot.engine"):
        bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, guild_ready_timeout=0.05, reidentify_delay=0), timeout=300)

    served = bot.services.engine.model_version
    assert served and served != "base-2026-11-30-deadbeef"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"model version base-2026-11-30-deadbeef ({broken}) could not be loaded" in logged, logged
    assert f"Serving model version {served} ({SHIPPED_CHECKPOINT}) instead" in logged, logged

    info = embed_text(await answer(playground, "alice", "model info"))
    assert "Fallback" in info and str(broken) in info and "base-2026-11-30-deadbeef" in info and served in info, info
    assert "Traceback" not in info and "Error:" not in info


async def test_a_damaged_active_checkpoint_falls_back_to_the_version_it_replaced(
    playground: Playground, start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=["plugins", "retrain"], start_engine=True, render_workers=1)
    good = shipped_version()
    previous = tmp_path / "previous.pt"
    previous.write_bytes(SHIPPED_CHECKPOINT.read_bytes())
    broken = damaged_copy_of_the_shipped_model(tmp_path / "promoted.pt")
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        await storage.models.register(good, str(previous))
        await storage.models.activate(good)
        await storage.models.register("base-2026-11-30-deadbeef", str(broken))
        await storage.models.activate("base-2026-11-30-deadbeef")  # replaces the previous one

    with caplog.at_level(logging.WARNING, logger="bot.engine"):
        bot = await start_bot(TunesmithBot(settings, sync_guild_id=playground.guild_id, guild_ready_timeout=0.05, reidentify_delay=0), timeout=300)

    assert bot.services.engine.model_version == good
    assert bot.services.model_notice is not None
    assert f"Serving model version {good} ({previous}) instead" in bot.services.model_notice
    assert any("base-2026-11-30-deadbeef" in r.getMessage() and str(broken) in r.getMessage() for r in caplog.records)
