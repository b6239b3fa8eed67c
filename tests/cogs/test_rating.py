"""Ratings by reaction, through the playground with the real bot: the stored rating of each member is always the
latest rating reaction they still have on the track, however fast they react."""

from __future__ import annotations

import pytest_asyncio

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.cogs.rating_support import all_handled, assert_ratings_match_reactions, post_track, rule_from_playground
from tests.helpers.bot import StartTunesmith

UNLIMITED = 1_000_000  # these tests are about order, not the rate limit


@pytest_asyncio.fixture
async def rating_bot(start_tunesmith: StartTunesmith) -> TunesmithBot:
    return await start_tunesmith(enabled_cogs=["rating"], rating_changes_per_window=UNLIMITED)


async def test_adding_then_removing_at_once_leaves_no_rating(playground: Playground, rating_bot: TunesmithBot) -> None:
    posted = track, message_id = await post_track(playground, rating_bot)
    members = [playground.add_user(f"quick{i}") for i in range(20)]
    for member in members:
        # Back to back, without waiting for the bot: the removal arrives while the addition is still being handled.
        await playground.add_reaction(member, message_id, "3️⃣")
        await playground.remove_reaction(member, message_id, "3️⃣")
    await all_handled(playground, rating_bot, track, message_id)
    scores = await rating_bot.services.storage.ratings.scores(track.id)
    assert not {m.id for m in members} & scores.keys()
    await assert_ratings_match_reactions(playground, rating_bot.services.storage, [posted])


async def test_removing_the_latest_reaction_falls_back_to_the_one_still_there(playground: Playground, rating_bot: TunesmithBot) -> None:
    posted = track, message_id = await post_track(playground, rating_bot)
    members = [playground.add_user(f"fickle{i}") for i in range(20)]
    for member in members:
        await playground.add_reaction(member, message_id, "2️⃣")
        await playground.add_reaction(member, message_id, "4️⃣")
        await playground.remove_reaction(member, message_id, "4️⃣")
    await all_handled(playground, rating_bot, track, message_id)
    scores = await rating_bot.services.storage.ratings.scores(track.id)
    assert {m.id: scores.get(m.id) for m in members} == {m.id: 2 for m in members}  # 2️⃣ is still on the message
    await assert_ratings_match_reactions(playground, rating_bot.services.storage, [posted])


async def test_the_latest_reaction_still_there_counts(playground: Playground, rating_bot: TunesmithBot) -> None:
    posted = track, message_id = await post_track(playground, rating_bot)
    alice, bob, carol = (playground.user(name) for name in ("alice", "bob", "carol"))
    for emoji in ("1️⃣", "5️⃣", "3️⃣"):
        await playground.add_reaction(alice, message_id, emoji)
    await playground.remove_reaction(alice, message_id, "5️⃣")  # not the latest: 3 stays
    await playground.add_reaction(bob, message_id, "2️⃣")
    await playground.add_reaction(bob, message_id, "4️⃣")
    await playground.remove_reaction(bob, message_id, "2️⃣")  # an older one: 4 stays
    await playground.add_reaction(carol, message_id, "1️⃣")
    await playground.add_reaction(carol, message_id, "2️⃣")
    await playground.remove_reaction(carol, message_id, "2️⃣")
    await playground.remove_reaction(carol, message_id, "1️⃣")  # none left: no rating
    await playground.add_reaction("bob", message_id, "👍")  # not a rating
    await all_handled(playground, rating_bot, track, message_id)
    scores = await rating_bot.services.storage.ratings.scores(track.id)
    assert (scores.get(alice.id), scores.get(bob.id), scores.get(carol.id)) == (3, 4, None)
    assert rating_bot.user is not None and rating_bot.user.id not in scores  # the bot's own 1️⃣–5️⃣ are not ratings
    await assert_ratings_match_reactions(playground, rating_bot.services.storage, [posted])


async def test_reactions_on_other_messages_are_not_ratings(playground: Playground, rating_bot: TunesmithBot) -> None:
    track, message_id = await post_track(playground, rating_bot)
    chat = await playground.send_message("carol", "not a track")
    await playground.add_reaction("bob", chat, "5️⃣")
    await all_handled(playground, rating_bot, track, message_id)
    assert playground.user("bob").id not in await rating_bot.services.storage.ratings.scores(track.id)
    assert await rating_bot.services.storage.tracks.by_message(int(chat["id"])) is None
    assert rule_from_playground(playground, int(chat["id"])) == {playground.user("bob").id: 5}
