"""Reading a message's rating reactions as they stand, through Discord's REST API."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import discord

from bot.track_messages import RATING_EMOJI

log = logging.getLogger(__name__)

# Reads share the bot's REST rate limits with everything else it does: a start-up reconciliation of many
# tracks must not crowd out answers to commands.
CONCURRENT_READS = 4


class ReactionReader:
    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(CONCURRENT_READS)

    async def rating_reactions(self, channel_id: int | None, message_id: int) -> dict[int, set[int]] | None:
        """Each member's rating scores on the message (the bot's own reactions left out), or None when the
        message cannot be read (deleted, no access, Discord unavailable): then nothing should change."""
        if channel_id is None:
            return None
        async with self._slots:
            try:
                return await self._read(channel_id, message_id)
            except discord.HTTPException as exc:
                log.warning("Could not read a track's reactions", extra={"message_id": message_id, "status": exc.status})
                return None

    async def _read(self, channel_id: int, message_id: int) -> dict[int, set[int]] | None:
        client = self._client
        channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        message = await channel.fetch_message(message_id)
        me = client.user.id if client.user is not None else None
        found: dict[int, set[int]] = defaultdict(set)
        for reaction in message.reactions:
            score = RATING_EMOJI.get(str(reaction.emoji))
            if score is None or reaction.count <= int(reaction.me):
                continue  # not a rating, or only the bot's own: no need to ask who reacted
            async for user in reaction.users():
                if user.id != me:
                    found[user.id].add(score)
        return dict(found)

