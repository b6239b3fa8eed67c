"""/history, /track (with Regenerate), /stats, /recommend and /forget-me through the playground."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import embed_text, is_ephemeral
from tests.helpers.music import attachment, final_message, is_track

pytestmark = pytest.mark.timeout(240)


async def compose(pg: Playground, user: str, **options: Any) -> dict[str, Any]:
    handle = await pg.run_command(user, "compose", options)
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message), message.get("content")
    return message


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    handle = await pg.run_command(user, command, options or {})
    await handle.acknowledged()
    return await handle.followup(timeout=30)


async def rate(pg: Playground, bot: TunesmithBot, user: str, message: dict[str, Any], emoji: str, score: int) -> None:
    storage = bot.services.storage
    track = await storage.tracks.by_message(int(message["id"]))
    assert track is not None
    await pg.add_reaction(user, message, emoji)
    for _ in range(600):  # the reaction travels over the gateway; the bound is for a stuck bot, not a speed test
        rating = await storage.ratings.get(pg.user(user).id, track.id)
        if rating is not None and rating.score == score:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("rating not stored")


async def test_history_track_regenerate_and_stats(playground: Playground, music_bot: TunesmithBot) -> None:
    first = await compose(playground, "bob", style="blues", mood="sad", seed=21)
    await rate(playground, music_bot, "carol", first, "5️⃣", 5)
    track = await music_bot.services.storage.tracks.by_message(int(first["id"]))
    assert track is not None

    history = await answer(playground, "bob", "history")
    assert is_ephemeral(history) and f"#{track.id} (blues, sad)" in embed_text(history)
    carol_history = await answer(playground, "carol", "history")
    assert "★★★★★" in embed_text(carol_history)

    info = await answer(playground, "alice", "track", {"id": track.id})
    text = embed_text(info)
    assert track.model_version in text and "Seed: 21" in text and "blues" in text
    regenerated = await final_message(await playground.click("alice", info, f"ts:regenerate:{track.id}"))
    assert is_track(regenerated)
    original_midi = await playground.fetch_attachment(attachment(first, ".mid"))
    new_midi = await playground.fetch_attachment(attachment(regenerated, ".mid"))
    assert hashlib.sha256(original_midi).digest() == hashlib.sha256(new_midi).digest()

    missing = await answer(playground, "bob", "track", {"id": 99999})
    assert is_ephemeral(missing) and "no track #99999" in missing["content"]

    stats = await answer(playground, "bob", "stats")
    png = await playground.fetch_attachment(stats["attachments"][0])
    assert png.startswith(b"\x89PNG")


async def test_recommend_with_reasons_and_never_rated_tracks(playground: Playground, music_bot: TunesmithBot) -> None:
    tracks = [await compose(playground, "bob", style=style, mood=mood, seed=i) for i, (style, mood) in enumerate((("jazz", "calm"), ("jazz", "dreamy"), ("rock", "energetic"), ("game", "happy")))]
    await rate(playground, music_bot, "carol", tracks[0], "5️⃣", 5)
    reply = await answer(playground, "carol", "recommend")
    assert is_ephemeral(reply)
    text = embed_text(reply)
    rated = await music_bot.services.storage.tracks.by_message(int(tracks[0]["id"]))
    titles = [f["name"] for f in reply["embeds"][0]["fields"]]
    assert rated is not None and titles and not any(t.startswith(f"#{rated.id} ") for t in titles)  # never the track carol rated
    assert "because you liked" in text or "popular" in text or "also liked" in text
    assert any(a["filename"].endswith(".mp3") for a in reply["attachments"])

    own = await answer(playground, "bob", "recommend")  # bob made every track: nothing to recommend
    assert is_ephemeral(own) and "Nothing to recommend" in own["content"]


async def test_forget_me_removes_ratings_and_anonymises_tracks(playground: Playground, music_bot: TunesmithBot) -> None:
    message = await compose(playground, "carol", style="celtic", mood="happy", seed=2)
    await rate(playground, music_bot, "carol", message, "4️⃣", 4)
    storage = music_bot.services.storage
    carol = playground.user("carol").id
    prompt = await answer(playground, "carol", "forget-me")
    assert is_ephemeral(prompt)
    done = await (await playground.click("carol", prompt, "ts:forget:confirm")).followup()
    assert "Nothing that refers to you remains" in done["content"]
    assert await storage.ratings.by_user(carol) == []
    track = await storage.tracks.by_message(int(message["id"]))
    assert track is not None and track.user_id is None
    assert await storage.users.get(carol) is None
