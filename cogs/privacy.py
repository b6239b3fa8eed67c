"""`/forget-me`: delete everything Tunesmith keeps about you, after a confirmation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.plugins import PluginManifest

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="privacy",
    version="1.0.0",
    description="/forget-me deletes your ratings and history and anonymises the tracks you made.",
    permissions=[],
    user_data="None of its own; it deletes what the other plugins keep about you.",
    bot_versions=">=0.1,<1.0",
)

CONFIRM_SECONDS = 120


class ForgetConfirmation(discord.ui.View):
    """Two buttons only the asking user can press."""

    def __init__(self, bot: TunesmithBot, user_id: int) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.bot = bot
        self.user_id = user_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message("Only the person who asked can confirm this.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Yes, forget me", style=discord.ButtonStyle.danger, custom_id="ts:forget:confirm")
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        report = await self.bot.services.storage.users.forget(self.user_id)
        self.stop()
        log.info("User forgotten", extra={"ratings": report.ratings_deleted, "tracks": report.tracks_anonymised})
        await interaction.response.edit_message(
            content=(
                "Done. I deleted "
                f"{report.ratings_deleted} rating(s) and {report.jobs_deleted} request(s) from your history, and "
                f"{report.tracks_anonymised} track(s) you made no longer name you. Nothing that refers to you remains."
            ),
            view=None,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="ts:forget:cancel")
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was deleted.", view=None)


class PrivacyCog(commands.Cog, name="Privacy"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot

    @app_commands.command(name="forget-me", description="Delete your ratings and history and anonymise your tracks")
    async def forget_me(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(
            "This deletes all your ratings and your request history on every server, and removes your name from the "
            "tracks you made (they stay, anonymous, for the people who rated them). It cannot be undone. Continue?",
            view=ForgetConfirmation(self.bot, interaction.user.id),
            ephemeral=True,
        )


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
