"""Ratings by reaction: 1️⃣–5️⃣ on a track message rates it 1 to 5.

One rating per user per track: the latest rating reaction wins, and removing the reaction that set the current
rating removes the rating. Reactions on other messages, other emoji and the bot's own reactions are ignored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.plugins import PluginManifest
from bot.publishing import RATING_EMOJI
from storage import Track

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="rating",
    version="1.0.0",
    description="Records 1️⃣–5️⃣ reactions on tracks as ratings (the latest reaction wins; removing it removes the rating).",
    permissions=["add_reactions", "read_message_history"],
    user_data="Your rating of each track you react to.",
    bot_versions=">=0.1,<1.0",
)


class RatingCog(commands.Cog, name="Rating"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot

    def _relevant(self, payload: discord.RawReactionActionEvent) -> int | None:
        """The rating this reaction stands for, or None when it is not a user's rating reaction."""
        if self.bot.user is not None and payload.user_id == self.bot.user.id:
            return None
        return RATING_EMOJI.get(str(payload.emoji))

    async def _rated_track(self, payload: discord.RawReactionActionEvent) -> tuple[int, Track] | None:
        """The rating this reaction stands for and the track it is on, or None when it is not a user's rating of a track."""
        score = self._relevant(payload)
        if score is None:
            return None
        track = await self.bot.services.storage.tracks.by_message(payload.message_id)
        return None if track is None else (score, track)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        rated = await self._rated_track(payload)
        if rated is None:
            return
        score, track = rated
        await self.bot.services.storage.ratings.set(payload.user_id, track.id, score)
        log.info("Rated", extra={"track": track.id, "user": payload.user_id, "score": score})

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        rated = await self._rated_track(payload)
        if rated is None:
            return
        score, track = rated
        ratings = self.bot.services.storage.ratings
        current = await ratings.get(payload.user_id, track.id)
        # Only the reaction that set the current rating clears it; removing an older one changes nothing.
        if current is not None and current.score == score:
            await ratings.remove(payload.user_id, track.id)
            log.info("Rating removed", extra={"track": track.id, "user": payload.user_id})


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RatingCog(bot))
