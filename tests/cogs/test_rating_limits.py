"""The per-member limit on rating changes, through the playground with the real bot: the excess is not stored,
the member is told once, and their ratings catch up with their reactions when they slow down."""

from __future__ import annotations

from bot.playground import Playground
from bot.playground import events as ev
from tests.cogs.rating_support import all_handled, assert_ratings_match_reactions, eventually, post_track
from tests.helpers.bot import StartTunesmith

RATE, WINDOW_S = 4, 8.0


def notices_for(playground: Playground, user_id: int) -> list[str]:
    texts = [m.get("content") or "" for m in playground.messages()]
    return [t for t in texts if t.startswith(f"<@{user_id}>") and "faster than" in t]


async def test_a_member_over_the_limit_is_told_once_and_caught_up_when_they_slow_down(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    bot = await start_tunesmith(enabled_cogs=["rating"], rating_changes_per_window=RATE, rating_window_seconds=WINDOW_S)
    storage = bot.services.storage
    posted = [await post_track(playground, bot) for _ in range(6)]
    dave, erin = playground.add_user("dave"), playground.add_user("erin")
    since = playground.event_count
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "4️⃣")

    def is_notice(event: ev.PlaygroundEvent) -> bool:
        return event.kind == ev.MESSAGE_CREATE and (event.message or {}).get("content", "").startswith(f"<@{dave.id}>")

    notice = await playground.wait_for(is_notice, timeout=60, since=since)
    assert f"faster than {RATE} per {WINDOW_S:g} s" in notice.message["content"] and "slow down" in notice.message["content"]

    async def daves() -> list[int | None]:
        return [(await storage.ratings.scores(track.id)).get(dave.id) for track, _ in posted]

    async def allowed_ones_written() -> bool:
        return (await daves()).count(4) == RATE

    await eventually(allowed_ones_written, f"{RATE} of dave's ratings are stored")
    assert (await daves()).count(None) == len(posted) - RATE  # the excess is not stored

    # While held, dave keeps changing his mind, and erin (under her limit) rates as usual.
    await playground.remove_reaction(dave, posted[-1][1], "4️⃣")
    await playground.add_reaction(dave, posted[-1][1], "1️⃣")
    await playground.add_reaction(dave, posted[0][1], "5️⃣")
    await playground.add_reaction(erin, posted[0][1], "3️⃣")
    for track, message_id in posted:
        await all_handled(playground, bot, track, message_id)  # waits for the held changes too
    await assert_ratings_match_reactions(playground, storage, posted)
    assert [(await storage.ratings.scores(t.id)).get(dave.id) for t, _ in (posted[0], posted[-1])] == [5, 1]

    # A second burst soon after: held and caught up again, and no second notice.
    for _, message_id in posted:
        await playground.add_reaction(dave, message_id, "2️⃣")
    for track, message_id in posted:
        await all_handled(playground, bot, track, message_id)
    await assert_ratings_match_reactions(playground, storage, posted)
    assert len(notices_for(playground, dave.id)) == 1
    assert notices_for(playground, erin.id) == []
