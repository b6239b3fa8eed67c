"""Every command error ends in one ephemeral message: the user's own mistakes explained, our bugs apologised for."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from bot.tree import UNEXPECTED_ERROR
from tests.helpers.bot import answer, fake_distribution, is_ephemeral

FAULTY_PLUGIN = textwrap.dedent(
    """
    from discord import app_commands
    from discord.ext import commands

    from bot.errors import UserFacingError
    from bot.plugins import PluginManifest

    MANIFEST = PluginManifest(name="faulty", version="1.0.0", description="Fails on purpose.")


    class Faulty(commands.Cog):
        @app_commands.command(name="oops", description="A bug")
        async def oops(self, interaction):
            raise KeyError("secret internals")

        @app_commands.command(name="mistake", description="A user error")
        async def mistake(self, interaction):
            raise UserFacingError("Tempo must be between 40 and 240 bpm.")

        @app_commands.command(name="late", description="A bug after deferring")
        async def late(self, interaction):
            await interaction.response.defer(thinking=True)
            raise RuntimeError("boom")


    async def setup(bot):
        await bot.add_cog(Faulty())
    """
)


@pytest.fixture
async def faulty(tunesmith: TunesmithBot, plugin_site: Path) -> TunesmithBot:
    (plugin_site / "faulty_plugin.py").write_text(FAULTY_PLUGIN)
    fake_distribution(plugin_site, "faulty-plugin", {"faulty": "faulty_plugin"})
    assert (await tunesmith.plugins.load("faulty")).ok
    return tunesmith


async def test_a_bug_gives_the_user_a_generic_message_and_the_log_the_traceback(
    faulty: TunesmithBot, playground: Playground, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        message = await answer(playground, "carol", "oops")
    assert is_ephemeral(message) and message["content"] == UNEXPECTED_ERROR
    assert "secret internals" not in message["content"]
    record = next(r for r in caplog.records if r.name == "bot.tree")
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)


async def test_a_user_error_is_shown_as_is(faulty: TunesmithBot, playground: Playground) -> None:
    message = await answer(playground, "carol", "mistake")
    assert is_ephemeral(message) and message["content"] == "Tempo must be between 40 and 240 bpm."


async def test_a_bug_after_deferring_still_answers(faulty: TunesmithBot, playground: Playground) -> None:
    handle = await playground.run_command("carol", "late", {})
    await handle.acknowledged()
    message = await handle.followup(timeout=10)
    assert message["content"] == UNEXPECTED_ERROR
