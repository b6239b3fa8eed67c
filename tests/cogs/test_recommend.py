"""/recommend through the playground on a large library: it acknowledges (defers) before ranking, then answers."""

from __future__ import annotations

import re

import pytest

from bot.commands.bench import seed_library
from bot.playground import Playground
from tests.helpers.bot import StartTunesmith, embed_text, is_ephemeral

pytestmark = pytest.mark.timeout(120)


async def test_recommend_defers_first_then_answers_from_the_servers_library(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    bot = await start_tunesmith(enabled_cogs=["plugins", "settings", "recommend"])
    storage = bot.services.storage
    members = await seed_library(storage, playground.guild_id, next(iter(playground.state.guild.channels)), n_tracks=400, n_ratings=1500, n_members=30)
    carol = playground.user("carol")
    async with storage.db.transaction() as tx:  # carol takes over one seeded member's ratings
        await tx.execute("INSERT OR IGNORE INTO users (id, created_at, last_seen_at) VALUES (?, '2026-12-01T00:00:00+00:00', '2026-12-01T00:00:00+00:00')", (carol.id,))
        await tx.execute("UPDATE ratings SET user_id = ? WHERE user_id = ?", (carol.id, members[0]))
    rated = {r.track_id for r in await storage.ratings.by_user(carol.id)}
    assert rated

    handle = await playground.run_command("carol", "recommend", {"count": 5})
    callback = await handle.acknowledged()
    assert callback["type"] == 5  # deferred: "thinking" while the library is ranked, whatever its size
    reply = await handle.followup(timeout=60)
    assert is_ephemeral(reply)
    titles = [f["name"] for f in reply["embeds"][0]["fields"]]
    assert len(titles) == 5
    shown = [int(re.search(r"#(\d+)", t).group(1)) for t in titles]  # type: ignore[union-attr]
    assert not set(shown) & rated  # never a track she rated
    assert "because you liked" in embed_text(reply) or "popular" in embed_text(reply) or "also liked" in embed_text(reply)


async def test_recommend_with_nothing_to_offer_says_so_after_deferring(playground: Playground, start_tunesmith: StartTunesmith) -> None:
    await start_tunesmith(enabled_cogs=["plugins", "settings", "recommend"])
    handle = await playground.run_command("carol", "recommend", {})
    assert (await handle.acknowledged())["type"] == 5
    reply = await handle.followup(timeout=30)
    assert is_ephemeral(reply) and "Nothing to recommend yet" in reply["content"]
