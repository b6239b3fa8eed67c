"""The `/hello` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import TunesmithBot


class HelloCog(commands.Cog):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot

    @app_commands.command(name="hello", description="Say hello to Tunesmith")
    @app_commands.describe(name="Who is saying hello (default: you)")
    async def hello(self, interaction: discord.Interaction[TunesmithBot], name: app_commands.Range[str, 1, 50] | None = None) -> None:
        who = discord.utils.escape_markdown(name or interaction.user.display_name)
        await interaction.response.send_message(f"Hello, {who}! This is Tunesmith {self.bot.version}.", allowed_mentions=discord.AllowedMentions.none())
