"""The per-member limit on rating changes, through the playground with the real bot: the excess is not stored,
the member is told once, and their ratings catch up with their reactions when they slow down."""

from __future__ import annotations

from bot.playground import Playground
from tests.helpers.rating import all_handled, assert_ratings_match_reactions, handled_so_far, post_track
from tests.helpers.bot import StartTunesmith

RATE, WINDOW_S = 4, 8.0


def notices_for(playground: Playground, user_id: int) -> list[str]:
    texts = [m.get("content") or "" for m in playground.messages()]
    return [t for t in texts if t.startswith(f"<@{user_id}>") and "faster than" in t]


async def test_over_the_limit_the_excess_is_not_stored_and_the_member_is_told_once(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    # A window far longer than the test: nothing held can be written meanwhile, whatever the machine's speed.
    bot = await start_tunesmith(enabled_cogs=["rating"], rating_changes_per_window=RATE, rating_window_seconds=3600)
    storage = bot.services.storage
    posted = [await post_track(playground, bot) for _ in range(RATE + 3)]
    dave = playground.add_user("dave")
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "4️⃣")
    for track, message_id in posted:
        await handled_so_far(playground, bot, track, message_id)
    stored = [(await storage.ratings.scores(track.id)).get(dave.id) for track, _ in posted]
    assert stored.count(4) == RATE and stored.count(None) == 3
    [notice] = notices_for(playground, dave.id)
    assert f"faster than {RATE} per 3600 s" in notice and "slow down" in notice and "no need to react again" in notice
    # More changes in the same burst: still held, still one notice.
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "1️⃣")
    for track, message_id in posted:
        await handled_so_far(playground, bot, track, message_id)
    assert [(await storage.ratings.scores(track.id)).get(dave.id) for track, _ in posted] == stored
    assert len(notices_for(playground, dave.id)) == 1


async def test_held_ratings_catch_up_with_the_reactions_when_the_member_slows_down(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    bot = await start_tunesmith(enabled_cogs=["rating"], rating_changes_per_window=RATE, rating_window_seconds=WINDOW_S)
    storage = bot.services.storage
    posted = [await post_track(playground, bot) for _ in range(6)]
    dave, erin = playground.add_user("dave"), playground.add_user("erin")
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "4️⃣")
    # While some are held, dave keeps changing his mind, and erin (under her limit) rates as usual.
    await playground.remove_reaction(dave, posted[-1][1], "4️⃣")
    await playground.add_reaction(dave, posted[-1][1], "1️⃣")
    await playground.add_reaction(dave, posted[0][1], "5️⃣")
    await playground.add_reaction(erin, posted[0][1], "3️⃣")
    for track, message_id in posted:
        await all_handled(playground, bot, track, message_id)  # waits for the held changes too
    await assert_ratings_match_reactions(playground, storage, posted)
    assert [(await storage.ratings.scores(t.id)).get(dave.id) for t, _ in (posted[0], posted[-1])] == [5, 1]
    assert len(notices_for(playground, dave.id)) == 1

    # A second burst soon after: held and caught up again, and no second notice.
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "2️⃣")
    for track, message_id in posted:
        await all_handled(playground, bot, track, message_id)
    await assert_ratings_match_reactions(playground, storage, posted)
    assert len(notices_for(playground, dave.id)) == 1
    assert notices_for(playground, erin.id) == []


async def test_the_notice_goes_after_its_lifetime_and_unloading_the_cog_cancels_its_deletion(playground: Playground, start_tunesmith: StartTunesmith,
                                                                                               monkeypatch) -> None:
    import asyncio
    import sys

    bot = await start_tunesmith(enabled_cogs=["rating"], rating_changes_per_window=1, rating_window_seconds=3600)
    cog = next(c for c in bot.cogs.values() if type(c).__module__ == "cogs.rating")
    rating_cog = sys.modules[type(cog).__module__]  # the module as loaded (extensions are loaded afresh)
    monkeypatch.setattr(rating_cog, "NOTICE_LIFETIME_S", 0.3)
    posted = [await post_track(playground, bot) for _ in range(2)]
    dave = playground.add_user("dave")
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "4️⃣")
    await playground.wait_for(lambda e: e.kind == "message_create" and "faster than" in str(e.data), timeout=30)
    for _ in range(100):  # deleted by the cog's own task once its lifetime is over
        if not notices_for(playground, dave.id):
            break
        await asyncio.sleep(0.05)
    assert notices_for(playground, dave.id) == []

    # A notice still waiting to go when the cog unloads: its deletion is cancelled with the cog, not left to fail.
    monkeypatch.setattr(rating_cog, "NOTICE_LIFETIME_S", 3600)
    erin = playground.add_user("erin")
    for _, message_id in posted:
        await playground.add_reaction(erin, message_id, "2️⃣")
    await playground.wait_for(lambda e: e.kind == "message_create" and f"<@{erin.id}>" in str(e.data), timeout=30)
    for _ in range(100):  # the playground records the message before the bot's send returns and schedules its deletion
        if cog._tasks:
            break
        await asyncio.sleep(0.05)
    pending = list(cog._tasks)
    assert pending
    await bot.remove_cog(cog.qualified_name)
    await asyncio.sleep(0)
    assert all(t.cancelled() or t.done() for t in pending)
    assert len(notices_for(playground, erin.id)) == 1  # left in place: nothing tried to delete it on a closed session
