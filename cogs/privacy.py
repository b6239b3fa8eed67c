"""`/forget-me`: delete everything Tunesmith keeps about you, after a confirmation."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.plugins import PluginManifest
from storage import ForgetReport
from storage.export import ExportScrub, remove_user_from_exports

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
        self.stop()
        # Rewriting exports can take a moment; Discord wants an answer within 3 s.
        await interaction.response.defer()
        report = await self.bot.services.storage.users.forget(self.user_id)
        # Retrain runs keep the ratings they trained on as files beside their model: remove this user's rows there too.
        scrub = await asyncio.to_thread(remove_user_from_exports, self.bot.settings.models_dir, self.user_id)
        log.info("User forgotten", extra={"ratings": report.ratings_deleted, "tracks": report.tracks_anonymised, "export_rows": scrub.rows_removed})
        await interaction.edit_original_response(content=forget_summary(report, scrub), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="ts:forget:cancel")
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was deleted.", view=None)


def forget_summary(report: ForgetReport, scrub: ExportScrub) -> str:
    lines = [
        f"Done. I deleted {report.ratings_deleted} rating(s) and {report.jobs_deleted} request(s) from your history, and "
        f"{report.tracks_anonymised} track(s) you made no longer name you or keep your prompt."
    ]
    if scrub.rows_removed:
        lines.append(f"I also removed {scrub.rows_removed} of your rating(s) from {scrub.files_changed} saved retraining data set(s).")
    if report.prompt_copies_cleared:
        lines.append(f"Your prompt was removed from {report.prompt_copies_cleared} track(s) others regenerated from yours.")
    if report.jobs_detached:
        lines.append(f"{report.jobs_detached} track(s) you asked for are still being composed; they will be posted without your name.")
    lines.append("Nothing that refers to you remains.")
    return "\n".join(lines)


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
