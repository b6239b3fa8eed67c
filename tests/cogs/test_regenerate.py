"""Regenerate makes the same piece again, whatever made the track: /compose, Variation, Extend, Restyle, Re-mood,
and /restyle or /continue of an uploaded file (the README promises identical MIDI). Through the playground with
the real engine; the notes (the MIDI file and the stored token arrays) are compared."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import answer, is_ephemeral
from tests.helpers.music import attachment, final_message, is_track

pytestmark = pytest.mark.timeout(600)


async def made(pg: Playground, handle: Any) -> dict[str, Any]:
    message = await final_message(handle, timeout=180)
    assert is_track(message), message.get("content")
    return message


async def regenerate(pg: Playground, user: str, track_id: int) -> dict[str, Any]:
    info = await answer(pg, user, "track", {"id": track_id})
    return await final_message(await pg.click(user, info, f"ts:regenerate:{track_id}"), timeout=180)


async def assert_same_notes(pg: Playground, bot: TunesmithBot, original: dict[str, Any], again: dict[str, Any], what: str) -> None:
    assert is_track(again), (what, again.get("content"))
    storage = bot.services.storage
    first = await storage.tracks.by_message(int(original["id"]))
    second = await storage.tracks.by_message(int(again["id"]))
    assert first is not None and second is not None
    assert second.parent_id == first.id and second.relation == "regenerate", what
    assert (second.style, second.mood, second.key, second.bars, second.seed) == (first.style, first.mood, first.key, first.bars, first.seed), what
    first_tokens, second_tokens = (await storage.tracks.require(first.id)).tokens, (await storage.tracks.require(second.id)).tokens
    assert first_tokens is not None and second_tokens is not None and first_tokens.keys() == second_tokens.keys(), what
    for name in first_tokens:
        assert np.array_equal(first_tokens[name], second_tokens[name]), (what, name)
    original_midi = await pg.fetch_attachment(attachment(original, ".mid"))
    new_midi = await pg.fetch_attachment(attachment(again, ".mid"))
    assert original_midi == new_midi, what


async def test_regenerate_is_identical_for_every_kind_of_track(playground: Playground, music_bot: TunesmithBot) -> None:
    storage = music_bot.services.storage
    parent = await made(playground, await playground.run_command("bob", "compose", {"style": "pop", "mood": "happy", "seed": 11, "bars": 8}))
    parent_track = await storage.tracks.by_message(int(parent["id"]))
    assert parent_track is not None
    midi = await playground.fetch_attachment(attachment(parent, ".mid"))
    tracks = {
        "compose": parent,
        "variation": await made(playground, await playground.click("bob", parent, f"ts:variation:{parent_track.id}")),
        "extend": await made(playground, await playground.click("bob", parent, f"ts:extend:{parent_track.id}")),
        "restyle": await made(playground, await playground.click("bob", parent, f"ts:restyle:{parent_track.id}", values=["rock"])),
        "remood": await made(playground, await playground.click("bob", parent, f"ts:remood:{parent_track.id}", values=["sad"])),
        "restyle upload": await made(playground, await playground.run_command("bob", "restyle", {"style": "latin"}, attachments=[("tune.mid", midi)])),
        "continue upload": await made(playground, await playground.run_command("bob", "continue", {"bars": 4}, attachments=[("tune.mid", midi)])),
    }
    for what, original in tracks.items():
        track = await storage.tracks.by_message(int(original["id"]))
        assert track is not None
        again = await regenerate(playground, "carol", track.id)
        await assert_same_notes(playground, music_bot, original, again, what)
        # A Regenerate of the Regenerate is the same piece too (it keeps the recipe it replayed).
        if what == "variation":
            copy = await storage.tracks.by_message(int(again["id"]))
            assert copy is not None
            third = await regenerate(playground, "carol", copy.id)
            assert await playground.fetch_attachment(attachment(third, ".mid")) == await playground.fetch_attachment(attachment(original, ".mid"))


async def test_tracks_made_before_recipes_regenerate_from_their_parent(playground: Playground, music_bot: TunesmithBot) -> None:
    """A track stored before recipes were kept (no recipe column) replays what the bot of that time did."""
    storage = music_bot.services.storage
    parent = await made(playground, await playground.run_command("bob", "compose", {"style": "folk", "mood": "calm", "seed": 12}))
    parent_track = await storage.tracks.by_message(int(parent["id"]))
    assert parent_track is not None
    variation = await made(playground, await playground.click("bob", parent, f"ts:variation:{parent_track.id}"))
    extended = await made(playground, await playground.click("bob", parent, f"ts:extend:{parent_track.id}"))
    await storage.db.execute("UPDATE tracks SET recipe = NULL")
    for what, original in (("variation", variation), ("extend", extended), ("compose", parent)):
        track = await storage.tracks.by_message(int(original["id"]))
        assert track is not None and track.recipe is None
        await assert_same_notes(playground, music_bot, original, await regenerate(playground, "carol", track.id), what)


async def test_regenerate_of_an_edit_whose_source_was_deleted_says_so(playground: Playground, music_bot: TunesmithBot) -> None:
    storage = music_bot.services.storage
    parent = await made(playground, await playground.run_command("bob", "compose", {"style": "jazz", "mood": "calm", "seed": 13}))
    parent_track = await storage.tracks.by_message(int(parent["id"]))
    assert parent_track is not None
    restyled = await made(playground, await playground.click("bob", parent, f"ts:restyle:{parent_track.id}", values=["blues"]))
    child = await storage.tracks.by_message(int(restyled["id"]))
    assert child is not None
    await storage.tracks.delete(parent_track.id)
    reply = await regenerate(playground, "bob", child.id)
    assert is_ephemeral(reply), reply
    assert f"Track #{parent_track.id}" in reply["content"] and "no longer exists" in reply["content"], reply["content"]
    assert await storage.tracks.count() == 1  # nothing else was made
