"""Helpers for the rating tests: tracks posted by the real bot, the rule worked out from the playground's own record
of reactions, and a way to know the bot has handled every reaction made so far."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.client import TunesmithBot
from bot.playground import Playground
from bot.playground import events as ev
from bot.publishing import RATING_EMOJI
from storage import Storage, Track
from tests.helpers.factories import new_track

_sentinels = itertools.count(1)


async def post_track(playground: Playground, bot: TunesmithBot) -> tuple[Track, int]:
    """A stored track posted as a bot message in #general, with the bot's own 1️⃣–5️⃣ on it, as /compose leaves it."""
    storage = bot.services.storage
    track = await storage.tracks.add(new_track(user_id=None, guild_id=playground.guild_id, channel_id=playground.channel_id))
    channel = bot.get_channel(playground.channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send(f"Track #{track.id}")
    await storage.tracks.set_message(track.id, message.id, channel.id)
    for emoji in RATING_EMOJI:
        await message.add_reaction(emoji)
    return track, message.id


def rule_from_playground(playground: Playground, message_id: int) -> dict[int, int]:
    """Each member's rating by the rule (the latest rating reaction still on the message), from the playground's
    event log, checked against the reactions the message holds now."""
    order: dict[int, list[str]] = {}
    for event in playground.events:
        if event.kind not in (ev.REACTION_ADD, ev.REACTION_REMOVE) or event.data["message_id"] != str(message_id):
            continue
        user_id, emoji = int(event.data["user_id"]), event.data["emoji"]
        if user_id == playground.bot_user.id or emoji not in RATING_EMOJI:
            continue
        emojis = order.setdefault(user_id, [])
        if emoji in emojis:
            emojis.remove(emoji)
        if event.kind == ev.REACTION_ADD:
            emojis.append(emoji)
    stored = playground.state.messages.get(message_id)
    assert stored is not None
    standing: dict[int, set[str]] = {}
    for emoji, users in stored.reactions.items():
        for user_id in users:
            if user_id != playground.bot_user.id and emoji in RATING_EMOJI:
                standing.setdefault(user_id, set()).add(emoji)
    assert standing == {user_id: set(emojis) for user_id, emojis in order.items() if emojis}
    return {user_id: RATING_EMOJI[emojis[-1]] for user_id, emojis in order.items() if emojis}


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 90) -> None:
    """Wait (generously: the machine may be loaded) until `check()` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


async def handled_so_far(playground: Playground, bot: TunesmithBot, track: Track, message_id: int) -> None:
    """Return once the bot has handled every reaction made so far on the message (written, or held by the rate
    limit) and posted its notices: a new member's reaction, made last, is stored, and each message's events are
    handled in order."""
    storage = bot.services.storage
    sentinel = playground.add_user(f"sentinel{next(_sentinels)}")
    await playground.add_reaction(sentinel, message_id, "5️⃣")

    async def sentinel_stored() -> bool:
        return (await storage.ratings.scores(track.id)).get(sentinel.id) == 5

    await eventually(sentinel_stored, "the last reaction is stored")
    await rating_cog(bot).idle()


def rating_cog(bot: TunesmithBot) -> Any:
    cog = bot.get_cog("Rating")
    assert cog is not None, "the rating cog is not loaded"
    return cog


async def all_handled(playground: Playground, bot: TunesmithBot, track: Track, message_id: int) -> None:
    """Return once every reaction made so far is reflected in storage, held changes included: the gateway keeps
    order, so once the last reaction is stored every earlier event has arrived; then the cog has nothing left to do."""
    await handled_so_far(playground, bot, track, message_id)
    await rating_cog(bot).settled()


async def assert_ratings_match_reactions(playground: Playground, storage: Storage, tracks: list[tuple[Track, int]]) -> None:
    wrong, pairs = [], 0
    for track, message_id in tracks:
        stored, rule = await storage.ratings.scores(track.id), rule_from_playground(playground, message_id)
        members = stored.keys() | rule.keys()
        pairs += len(members)
        wrong += [(track.id, user_id, stored.get(user_id), rule.get(user_id)) for user_id in members if stored.get(user_id) != rule.get(user_id)]
    assert not wrong, f"{len(wrong)} of {pairs} member-track pairs differ (track, member, stored, reactions): {wrong[:5]}"
