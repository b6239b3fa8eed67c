"""After the retention policy deleted a track's files, through the playground: every button on it still works
(they start from the notes kept in the database), Regenerate gives the same MIDI, and /recommend renders the
files again from the track's recipe, identical to those it was posted with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from storage.retention import prune_media
from tests.helpers.bot import answer
from tests.helpers.music import attachment, final_message, is_track

pytestmark = pytest.mark.timeout(600)


async def test_a_track_whose_media_were_pruned_keeps_working(playground: Playground, music_bot: TunesmithBot) -> None:
    storage = music_bot.services.storage
    handle = await playground.run_command("bob", "compose", {"style": "celtic", "mood": "happy", "seed": 31})
    await handle.acknowledged()
    posted = await final_message(handle)
    assert is_track(posted)
    track = await storage.tracks.by_message(int(posted["id"]))
    assert track is not None
    original = {suffix: storage.media.read(path) for suffix, path in ((".mid", track.midi_path), (".mp3", track.mp3_path), (".png", track.png_path))}

    report = await prune_media(storage.db, storage.media, retention_days=30, now=datetime.now(UTC) + timedelta(days=31))
    assert report.tracks_pruned == 1 and report.files_deleted == 3
    pruned = await storage.tracks.require(track.id)
    assert pruned.media_pruned_at is not None and pruned.mp3_path is None

    for custom_id, values in ((f"ts:variation:{track.id}", None), (f"ts:extend:{track.id}", None), (f"ts:restyle:{track.id}", ["folk"]),
                              (f"ts:remood:{track.id}", ["calm"])):
        made = await final_message(await playground.click("bob", posted, custom_id, values=values), timeout=180)
        assert is_track(made), (custom_id, made.get("content"))
    info = await answer(playground, "carol", "track", {"id": track.id})
    again = await final_message(await playground.click("carol", info, f"ts:regenerate:{track.id}"), timeout=180)
    assert await playground.fetch_attachment(attachment(again, ".mid")) == original[".mid"]

    # carol has rated nothing: the popular fallback recommends bob's tracks, the pruned one among them.
    recommended = await answer(playground, "carol", "recommend", {"count": 10})
    restored = await storage.tracks.require(track.id)
    assert restored.media_pruned_at is None
    assert {suffix: storage.media.read(path) for suffix, path in ((".mid", restored.midi_path), (".mp3", restored.mp3_path), (".png", restored.png_path))} == original
    assert any(a["filename"].startswith(f"tunesmith-{track.id}-") for a in recommended["attachments"]), recommended["attachments"]
