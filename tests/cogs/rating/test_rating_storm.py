"""The storm: dozens of members adding and removing 1️⃣–5️⃣ on the same tracks at once, in the tightest sequences,
some through the playground page's HTTP API and some through its Python API, with the real bot receiving the
gateway events. Afterwards the stored ratings must equal the reactions as they stand, exactly."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest

from bot.playground import Playground, PlaygroundUser
from bot.publishing import RATING_EMOJI
from tests.helpers.rating import all_handled, assert_ratings_match_reactions, post_track
from tests.helpers.bot import StartTunesmith
from tests.helpers.page import page_headers

EMOJI = list(RATING_EMOJI)
MEMBERS, TRACKS = 32, 4
Op = tuple[int, str, bool]  # message id, emoji, True to remove


def tight_sequence(rng: random.Random, message_id: int) -> list[Op]:
    """One member's actions on one track: the patterns that broke ratings, then random ones."""
    a, b = rng.sample(EMOJI, 2)
    patterns = [
        [(a, False), (a, True)],  # add, remove at once
        [(a, False), (b, False), (b, True)],  # the latest taken back: the older one counts
        [(a, False), (b, False), (a, True)],  # an older one taken back: the latest stays
    ]
    ops = list(rng.choice(patterns))
    ops += [(rng.choice(EMOJI), rng.random() < 0.45) for _ in range(rng.randint(4, 9))]
    return [(message_id, emoji, remove) for emoji, remove in ops]


async def act_in_python(playground: Playground, member: PlaygroundUser, ops: list[Op], rng: random.Random) -> None:
    for message_id, emoji, remove in ops:
        if remove:
            await playground.remove_reaction(member, message_id, emoji)
        else:
            await playground.add_reaction(member, message_id, emoji)
        if rng.random() < 0.3:
            await asyncio.sleep(0)  # let others in now and then; otherwise back to back, faster than any client


async def act_over_http(session: aiohttp.ClientSession, url: str, headers: dict[str, str], member: PlaygroundUser, ops: list[Op]) -> None:
    """What the playground's page does for a member's reactions: its own Origin and token on every call."""
    for message_id, emoji, remove in ops:
        body = {"user": str(member.id), "message_id": str(message_id), "emoji": emoji, "remove": remove}
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()


@pytest.mark.parametrize("limit", [None, 2], ids=["no-limit", "tight-limit"])
async def test_storm_ends_with_ratings_equal_to_the_reactions(playground: Playground, start_tunesmith: StartTunesmith, limit: int | None) -> None:
    overrides = {"rating_changes_per_window": 1_000_000} if limit is None else {"rating_changes_per_window": limit, "rating_window_seconds": 3.0}
    bot = await start_tunesmith(enabled_cogs=["rating"], **overrides)
    posted = [await post_track(playground, bot) for _ in range(TRACKS)]
    members = [playground.add_user(f"storm{i:02}") for i in range(MEMBERS)]
    rng = random.Random(1300 + (limit or 0))
    plans: list[list[Op]] = []
    for _ in members:
        ops = [op for _, message_id in posted for op in tight_sequence(rng, message_id)]
        # A member's tracks interleave, but each track's own sequence keeps its order.
        by_track = {message_id: [op for op in ops if op[0] == message_id] for _, message_id in posted}
        mixed: list[Op] = []
        while any(by_track.values()):
            mixed.append(by_track[rng.choice([m for m, left in by_track.items() if left])].pop(0))
        plans.append(mixed)

    async with aiohttp.ClientSession() as session:
        url = playground.url + "/ui/react"
        async with session.get(playground.url + "/") as page:
            headers = page_headers(playground.url, await page.text())
        await asyncio.gather(*(
            act_over_http(session, url, headers, member, plan) if i % 2 else act_in_python(playground, member, plan, random.Random(i))
            for i, (member, plan) in enumerate(zip(members, plans, strict=True))
        ))  # fmt: skip

    for track, message_id in posted:
        await all_handled(playground, bot, track, message_id)
    await assert_ratings_match_reactions(playground, bot.services.storage, posted)
    rated = [len(await bot.services.storage.ratings.scores(track.id)) for track, _ in posted]
    assert sum(rated) > MEMBERS  # the storm left plenty of ratings standing, not an empty table that trivially matches
    held = [m for m in playground.messages() if "faster than" in (m.get("content") or "")]
    assert bool(held) == (limit is not None)  # with the tight limit, changes were held back and caught up
