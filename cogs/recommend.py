"""`/recommend`: tracks from this server's library you are likely to enjoy and have not rated, each with a reason."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.plugins import PluginManifest
from bot.media_restore import ensure_media
from bot.track_messages import jump_link, mp3_file
from storage.recommend import recommend

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="recommend",
    version="1.0.0",
    description="/recommend: tracks from this server you have not rated yet, from your ratings (or what is popular).",
    permissions=["send_messages", "embed_links", "attach_files"],
    user_data="None of its own: it reads the ratings the rating plugin keeps.",
    bot_versions=">=0.1,<1.0",
)

DEFAULT_COUNT = 5
UPLOAD_BUDGET_BYTES = 8 * 1024 * 1024  # what the previews together may weigh in one message


class RecommendCog(commands.Cog, name="Recommend"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot

    @app_commands.command(name="recommend", description="Tracks from this server you are likely to enjoy")
    @app_commands.describe(count="How many (1-10)")
    async def recommend(self, interaction: discord.Interaction[Any], count: app_commands.Range[int, 1, 10] = DEFAULT_COUNT) -> None:
        # Ranking grows with the server's library (seconds with tens of thousands of tracks): acknowledge first,
        # so the answer never depends on the library's size to arrive within Discord's 3 s.
        await interaction.response.defer(thinking=True, ephemeral=True)
        storage = self.bot.services.storage
        picks = await recommend(storage.db, interaction.user.id, interaction.guild_id, k=count)
        if not picks:
            await interaction.followup.send("Nothing to recommend yet: every track here is yours or already rated by you. Try /compose!", ephemeral=True)
            return
        embed = discord.Embed(title="Recommended for you", colour=0x57F287)
        files: list[discord.File] = []
        budget = min(UPLOAD_BUDGET_BYTES, self.bot.settings.upload_cap_bytes)
        for pick in picks:
            track = pick.track
            link = jump_link(track)
            title = f"{track.label} · {track.key}, {track.tempo:.0f} bpm"
            embed.add_field(name=title, value=f"{pick.reason}" + (f" · [open]({link})" if link else ""), inline=False)
            if track.media_pruned_at is not None and len(files) < 10:  # the retention policy deleted its files: render them again
                track = await ensure_media(self.bot, track) or track
            if track.mp3_path and storage.media.exists(track.mp3_path):
                data = await asyncio.to_thread(storage.media.read, track.mp3_path)
                if len(data) <= budget and len(files) < 10:
                    budget -= len(data)
                    files.append(mp3_file(track, data))
        embed.set_footer(text="Rate tracks with 1️⃣–5️⃣ to sharpen these picks.")
        await interaction.followup.send(embed=embed, files=files, ephemeral=True)


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RecommendCog(bot))
