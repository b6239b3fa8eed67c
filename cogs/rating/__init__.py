"""Ratings by reaction: 1️⃣–5️⃣ on a track message rates it 1 to 5.

One rating per member per track, always equal to their rating reactions as they stand: the latest one still on
the message counts, and with none left there is no rating. Reactions on other messages, other emoji and the bot's
own reactions are ignored. At start-up (and after a lost gateway session) the reactions on recent tracks are read
again, so reactions made while the bot was down count too. A member changing ratings faster than the configured
limit has the excess held back, is told once, and gets their ratings written from their reactions when they slow
down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.plugins import PluginManifest
from bot.track_messages import RATING_EMOJI
from cogs.rating.limits import RatingRateLimit
from cogs.rating.reading import ReactionReader
from cogs.rating.sync import RatingSync

if TYPE_CHECKING:
    from bot.client import TunesmithBot

log = logging.getLogger(__name__)

MANIFEST = PluginManifest(
    name="rating",
    version="1.1.0",
    description="Records 1️⃣–5️⃣ reactions on tracks as ratings (the latest reaction still there counts; none left: no rating).",
    permissions=["add_reactions", "read_message_history"],
    user_data="Your rating of each track you react to.",
    bot_versions=">=0.1,<1.0",
)

# The slow-down notice is posted where the reactions are (a server's channel, or the member's DM with the bot) and
# tidies itself away.
NOTICE_LIFETIME_S = 60.0


class RatingCog(commands.Cog, name="Rating"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        settings = bot.settings
        self.limit = RatingRateLimit(settings.rating_changes_per_window, settings.rating_window_seconds)
        self.sync = RatingSync(lambda: bot.services.storage, ReactionReader(bot).rating_reactions, self.limit, self._tell_slow_down)
        self._tasks: set[asyncio.Task[None]] = set()

    async def cog_load(self) -> None:
        if self.bot.is_ready():  # loaded by /plugins load: no on_ready will come
            self._spawn(self._reread_recent())

    async def cog_unload(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.sync.close()

    # Events: each is queued before anything awaits, which keeps their order -------------------------------------

    def _score(self, payload: discord.RawReactionActionEvent) -> int | None:
        """The rating this reaction stands for, or None when it is not a member's rating reaction."""
        if self.bot.user is not None and payload.user_id == self.bot.user.id:
            return None
        return RATING_EMOJI.get(str(payload.emoji))

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        score = self._score(payload)
        if score is not None:
            self.sync.reaction(payload.message_id, payload.channel_id, payload.user_id, score, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        score = self._score(payload)
        if score is not None:
            self.sync.reaction(payload.message_id, payload.channel_id, payload.user_id, score, added=False)

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        self.sync.reread(payload.message_id, payload.channel_id)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        if str(payload.emoji) in RATING_EMOJI:
            self.sync.reread(payload.message_id, payload.channel_id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # A new session (start-up, or a reconnect that could not resume): events may have been missed meanwhile.
        self.sync.new_session()
        await self._reread_recent()

    async def idle(self) -> None:
        """Return once every reaction received so far is handled (written, or held by the rate limit) and every
        slow-down notice is posted."""
        await self.sync.idle()

    async def settled(self) -> None:
        """Return once every reaction received so far is reflected in storage (held changes included)."""
        await self.sync.settled()

    # Reconciliation and notices -------------------------------------------------------------------------------

    async def _reread_recent(self) -> None:
        settings = self.bot.settings
        since = datetime.now(UTC) - timedelta(days=settings.rating_reconcile_days)
        messages = await self.bot.services.storage.ratings.rateable_messages(since, settings.rating_reconcile_max_tracks)
        holds = getattr(self.bot, "holds_jobs_of", None)
        if holds is not None:  # sharded: the other shards read their own servers' tracks
            messages = [m for m in messages if holds(m.guild_id)]
        for message in messages:
            self.sync.reread(message.message_id, message.channel_id)
        if messages:
            log.info("Reading recent tracks' reactions", extra={"tracks": len(messages)})

    async def _tell_slow_down(self, user_id: int, channel_id: int | None) -> None:
        channel = None if channel_id is None else self.bot.get_channel(channel_id)
        if channel is None and channel_id is not None:
            # A DM with the bot is not cached (the bot receives no DM messages): look it up.
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return
        if not isinstance(channel, discord.abc.Messageable):
            return
        text = (
            f"<@{user_id}> you are changing ratings faster than {self.limit.rate} per {self.limit.per:g} s, so your latest "
            "reactions are on hold. They will count as they stand once you slow down; there is no need to react again."
        )
        mentions = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(user_id)])
        try:
            notice = await channel.send(text, allowed_mentions=mentions)
        except discord.HTTPException:
            log.info("Could not post the rating slow-down notice", exc_info=True)
            return
        # Our own task, not discord.py's delete_after: unloading the cog (or closing the bot) cancels it, where
        # delete_after's task would fail on the closed session and print its traceback at shutdown.
        self._spawn(self._delete_later(notice))

    async def _delete_later(self, notice: discord.Message) -> None:
        await asyncio.sleep(NOTICE_LIFETIME_S)
        try:
            await notice.delete()
        except discord.HTTPException:
            log.info("Could not delete the rating slow-down notice", exc_info=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(RatingCog(bot))
