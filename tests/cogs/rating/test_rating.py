"""Ratings by reaction, through the playground with the real bot: the stored rating of each member is always the
latest rating reaction they still have on the track, however fast they react."""

from __future__ import annotations

import pytest_asyncio

from bot.client import TunesmithBot
from bot.playground import Playground
from bot.playground import events as ev
from tests.helpers.rating import all_handled, assert_ratings_match_reactions, eventually, post_track, rule_from_playground
from tests.helpers.bot import StartTunesmith, answer

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


async def test_reactions_made_while_the_bot_was_down_count_at_start_up(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    first = await start_tunesmith(enabled_cogs=["rating"])
    posted = [await post_track(playground, first) for _ in range(2)]
    (track, message_id), (other, other_message_id) = posted
    alice, bob, carol = (playground.user(n) for n in ("alice", "bob", "carol"))
    await playground.add_reaction(alice, message_id, "4️⃣")
    await playground.add_reaction(carol, message_id, "3️⃣")
    await playground.add_reaction(bob, other_message_id, "1️⃣")
    await all_handled(playground, first, track, message_id)
    await all_handled(playground, first, other, other_message_id)
    await first.close()

    # While the bot is down: alice changes her mind, bob rates, carol takes her rating back; on the other track
    # bob adds 3 and 5 (their order cannot be known afterwards).
    await playground.remove_reaction(alice, message_id, "4️⃣")
    await playground.add_reaction(alice, message_id, "2️⃣")
    await playground.add_reaction(bob, message_id, "5️⃣")
    await playground.remove_reaction(carol, message_id, "3️⃣")
    await playground.add_reaction(bob, other_message_id, "3️⃣")
    await playground.add_reaction(bob, other_message_id, "5️⃣")

    second = await start_tunesmith(enabled_cogs=["rating"])
    storage = second.services.storage

    async def read_again() -> bool:
        return (await storage.ratings.scores(track.id)).get(alice.id) == 2

    await eventually(read_again, "the start-up read of the reactions")
    await all_handled(playground, second, track, message_id)
    scores = await storage.ratings.scores(track.id)
    assert (scores.get(alice.id), scores.get(bob.id), scores.get(carol.id)) == (2, 5, None)
    # Bob's 1 was recorded before and is still there, so it stays the latest; 3 and 5 came while the bot was down.
    assert (await storage.ratings.scores(other.id)).get(bob.id) == 1
    await playground.remove_reaction(bob, other_message_id, "1️⃣")  # of the two left, the higher counts
    await all_handled(playground, second, other, other_message_id)
    assert (await storage.ratings.scores(other.id)).get(bob.id) == 5
    await assert_ratings_match_reactions(playground, storage, [(track, message_id)])


async def test_an_older_track_is_read_when_it_is_next_reacted_to(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    first = await start_tunesmith(enabled_cogs=["rating"])
    old, old_message_id = await post_track(playground, first)
    newer, newer_message_id = await post_track(playground, first)
    bob = playground.user("bob")
    await playground.add_reaction(bob, old_message_id, "4️⃣")
    await all_handled(playground, first, old, old_message_id)
    await first.close()
    await playground.add_reaction(bob, old_message_id, "2️⃣")  # while the bot is down

    # Start-up reads only the newest track (rating_reconcile_max_tracks=1): the older one is read at its next reaction.
    second = await start_tunesmith(enabled_cogs=["rating"], rating_reconcile_max_tracks=1)
    await all_handled(playground, second, newer, newer_message_id)
    await playground.remove_reaction(bob, old_message_id, "4️⃣")
    await all_handled(playground, second, old, old_message_id)
    assert (await second.services.storage.ratings.scores(old.id)).get(bob.id) == 2
    await assert_ratings_match_reactions(playground, second.services.storage, [(old, old_message_id), (newer, newer_message_id)])


async def test_forgotten_ratings_are_not_written_back_when_others_react(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    bot = await start_tunesmith(enabled_cogs=["rating", "privacy"])
    track, message_id = await post_track(playground, bot)
    carol = playground.user("carol")
    await playground.add_reaction(carol, message_id, "2️⃣")
    await playground.add_reaction(carol, message_id, "4️⃣")
    await all_handled(playground, bot, track, message_id)
    prompt = await answer(playground, "carol", "forget-me")
    await (await playground.click("carol", prompt, "ts:forget:confirm")).followup()
    await playground.add_reaction("bob", message_id, "5️⃣")
    await all_handled(playground, bot, track, message_id)
    scores = await bot.services.storage.ratings.scores(track.id)
    assert carol.id not in scores and scores.get(playground.user("bob").id) == 5


async def test_reactions_made_while_the_plugin_was_unloaded_count_once_it_is_loaded(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    # alice is an owner: unloading and loading plugin code is for the bot's owners.
    bot = await start_tunesmith(enabled_cogs=["plugins", "rating"], owner_ids=[playground.user("alice").id])
    track, message_id = await post_track(playground, bot)
    alice = playground.user("alice")
    await playground.add_reaction(alice, message_id, "3️⃣")
    await all_handled(playground, bot, track, message_id)
    await answer(playground, "alice", "plugins unload", {"name": "rating"})
    assert bot.get_cog("Rating") is None
    await playground.add_reaction(alice, message_id, "1️⃣")
    await playground.remove_reaction(alice, message_id, "3️⃣")
    await answer(playground, "alice", "plugins load", {"name": "rating"})  # already READY: the cog reads recent tracks itself
    storage = bot.services.storage

    async def caught_up() -> bool:
        return (await storage.ratings.scores(track.id)).get(alice.id) == 1

    await eventually(caught_up, "the reload's read of the reactions")
    await all_handled(playground, bot, track, message_id)
    await assert_ratings_match_reactions(playground, storage, [(track, message_id)])


async def test_reactions_missed_during_a_lost_gateway_session_count_after_it_is_back(playground: Playground, rating_bot: TunesmithBot) -> None:
    track, message_id = await post_track(playground, rating_bot)
    bob = playground.user("bob")
    await playground.add_reaction(bob, message_id, "2️⃣")
    await all_handled(playground, rating_bot, track, message_id)
    since = playground.event_count
    await playground.drop_gateway(resumable=False)
    await playground.add_reaction(bob, message_id, "5️⃣")  # the old session is gone: this event never reaches the bot
    await playground.remove_reaction(bob, message_id, "2️⃣")
    await playground.wait_for(lambda e: e.kind == ev.GATEWAY_IDENTIFY, timeout=30, since=since)
    storage = rating_bot.services.storage

    async def caught_up() -> bool:
        return (await storage.ratings.scores(track.id)).get(bob.id) == 5

    await eventually(caught_up, "the read after the new session")
    await all_handled(playground, rating_bot, track, message_id)
    await assert_ratings_match_reactions(playground, storage, [(track, message_id)])
