"""Ratings in a DM with the bot, through the playground with the real bot: they are stored (the bot asks for
the DM reactions intent), only the DM's user can make them, and the slow-down notice reaches that DM."""

from __future__ import annotations

import discord
import pytest

from bot.client import TunesmithBot
from bot.playground import Playground, PlaygroundError
from bot.publishing import RATING_EMOJI
from storage import Scope, Track
from tests.helpers.rating import eventually, rating_cog
from tests.helpers.bot import StartTunesmith
from tests.helpers.factories import new_track


async def post_in_dm(playground: Playground, bot: TunesmithBot, user_id: int) -> tuple[Track, int]:
    """A track of the user's DM scope, posted in their DM with the bot with its 1️⃣–5️⃣, as /compose there leaves it."""
    storage = bot.services.storage
    dm = await (await bot.fetch_user(user_id)).create_dm()
    track = await storage.tracks.add(new_track(user_id=user_id, guild_id=None, channel_id=dm.id))
    message = await dm.send(f"Track #{track.id}")
    await storage.tracks.set_message(track.id, message.id, dm.id)
    for emoji in RATING_EMOJI:
        await message.add_reaction(emoji)
    return track, message.id


async def test_dm_ratings_are_stored_limited_and_noticed_in_the_dm(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    # No start-up reading of old tracks: each reaction below is a live change, counted against the limit.
    settings = {"enabled_cogs": ["rating"], "rating_changes_per_window": 2, "rating_window_seconds": 3600, "rating_reconcile_days": 0}
    first = await start_tunesmith(**settings)
    dave = playground.add_user("dave")
    posted = [await post_in_dm(playground, first, dave.id) for _ in range(3)]
    # After a restart the bot knows nothing of the DM (it receives no DM messages), yet ratings there count.
    await first.close()
    bot = await start_tunesmith(**settings)
    assert bot.get_channel(playground.dm_channel_id(dave)) is None
    storage = bot.services.storage
    assert [t.id for t in await storage.tracks.in_scope(Scope.dm(dave.id))] == sorted((t.id for t, _ in posted), reverse=True)

    with pytest.raises(PlaygroundError, match="cannot see"):  # nobody else is in dave's DM
        await playground.add_reaction("bob", posted[0][1], "5️⃣")
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "4️⃣")

    async def two_stored() -> bool:
        return [(await storage.ratings.scores(t.id)).get(dave.id) for t, _ in posted].count(4) == 2

    await eventually(two_stored, "dave's first two DM ratings are stored")
    dm_id = playground.dm_channel_id(dave)

    def notices() -> list[str]:
        return [m["content"] for m in playground.messages(dm_id, as_user=dave) if "faster than" in m["content"]]

    async def noticed() -> bool:
        await rating_cog(bot).idle()
        return len(notices()) == 1

    await eventually(noticed, "the slow-down notice is posted in dave's DM")
    assert notices()[0].startswith(f"<@{dave.id}>")
    assert not any("faster than" in (m.get("content") or "") for m in playground.messages())  # not in #general
    assert isinstance(await bot.fetch_channel(dm_id), discord.DMChannel)
