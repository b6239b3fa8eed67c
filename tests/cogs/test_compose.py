"""/compose, the track buttons, /restyle and /continue through the playground with the real discord.py and engine."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import mido
import pretty_midi
import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.bot import is_ephemeral
from tests.helpers.music import attachment, final_message, is_track

pytestmark = pytest.mark.timeout(240)


def embed_fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


async def compose(pg: Playground, user: str = "bob", **options: Any) -> dict[str, Any]:
    handle = await pg.run_command(user, "compose", options)
    ack = await handle.acknowledged()
    assert ack["type"] in (4, 5)
    return await final_message(handle)


async def test_compose_posts_audio_midi_picture_and_buttons(playground: Playground, music_bot: TunesmithBot) -> None:
    message = await compose(playground, style="jazz", mood="calm", key="Eb", tempo=120, bars=8, seed=7)
    assert is_track(message), message.get("content")
    fields = embed_fields(message)
    assert (fields["Style"], fields["Mood"], fields["Key"], fields["Tempo"], fields["Bars"], fields["Seed"]) == ("jazz", "calm", "Eb", "120 bpm", "8", "7")
    mp3 = await playground.fetch_attachment(attachment(message, ".mp3"))
    midi = await playground.fetch_attachment(attachment(message, ".mid"))
    png = await playground.fetch_attachment(attachment(message, ".png"))
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    assert png.startswith(b"\x89PNG")
    pm = pretty_midi.PrettyMIDI(io.BytesIO(midi))
    assert {"Melody", "Bass", "Drums"} <= {i.name for i in pm.instruments}
    custom_ids = [c["custom_id"] for row in message["components"] for c in row["components"]]
    assert any(c.startswith("ts:variation:") for c in custom_ids)
    assert any(c.startswith("ts:extend:") for c in custom_ids)
    assert any(c.startswith("ts:restyle:") for c in custom_ids) and any(c.startswith("ts:remood:") for c in custom_ids)
    track = await music_bot.services.storage.tracks.by_message(int(message["id"]))
    assert track is not None and track.style == "jazz" and track.seed == 7 and track.latent is not None


async def test_rating_reactions_latest_wins_and_removal_clears(playground: Playground, music_bot: TunesmithBot) -> None:
    message = await compose(playground, style="folk", mood="happy", seed=3)
    storage = music_bot.services.storage
    track = await storage.tracks.by_message(int(message["id"]))
    assert track is not None
    # The bot adds the five rating reactions itself; they are not ratings.
    await _until(lambda: _bot_reactions(playground, message["id"]), ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"])
    assert await storage.ratings.for_track(track.id) == []
    await playground.add_reaction("carol", message, "2️⃣")
    await playground.add_reaction("carol", message, "4️⃣")
    await _until(lambda: _score(storage, "carol", playground, track.id), 4)
    await playground.remove_reaction("carol", message, "2️⃣")  # an older reaction: the rating stays
    await _until(lambda: _score(storage, "carol", playground, track.id), 4)
    await playground.remove_reaction("carol", message, "4️⃣")
    await _until(lambda: _score(storage, "carol", playground, track.id), None)


async def _bot_reactions(pg: Playground, message_id: str) -> list[str]:
    stored = next(m for m in pg.messages() if m["id"] == message_id)
    return [r["emoji"]["name"] for r in stored.get("reactions", []) if r["count"]]


async def _score(storage: Any, user: str, pg: Playground, track_id: int) -> int | None:
    rating = await storage.ratings.get(pg.user(user).id, track_id)
    return None if rating is None else rating.score


async def _until(probe: Any, expected: Any, tries: int = 600) -> None:
    """Wait for the state to be reached (reactions travel over the gateway); the bound is for a stuck bot, not a
    speed requirement."""
    import asyncio

    value = None
    for _ in range(tries):
        value = await probe()
        if value == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {expected!r}, last saw {value!r}")


async def test_buttons_make_linked_tracks(playground: Playground, music_bot: TunesmithBot) -> None:
    parent = await compose(playground, style="pop", mood="happy", seed=11, bars=8)
    storage = music_bot.services.storage
    parent_track = await storage.tracks.by_message(int(parent["id"]))
    assert parent_track is not None
    variation = await final_message(await playground.click("bob", parent, f"ts:variation:{parent_track.id}"))
    extended = await final_message(await playground.click("bob", parent, f"ts:extend:{parent_track.id}"))
    restyled = await final_message(await playground.click("bob", parent, f"ts:restyle:{parent_track.id}", values=["rock"]))
    remooded = await final_message(await playground.click("bob", parent, f"ts:remood:{parent_track.id}", values=["sad"]))
    for message, relation in ((variation, "variation"), (extended, "extend"), (restyled, "restyle"), (remooded, "remood")):
        assert is_track(message), (relation, message.get("content"))
        child = await storage.tracks.by_message(int(message["id"]))
        assert child is not None and child.parent_id == parent_track.id and child.relation == relation
    assert embed_fields(extended)["Bars"] == "16"
    assert embed_fields(restyled)["Style"] == "rock"
    assert embed_fields(remooded)["Mood"] == "sad"


async def test_bad_input_gets_a_clear_ephemeral_message(playground: Playground, music_bot: TunesmithBot) -> None:
    handle = await playground.run_command("bob", "compose", {"style": "jazz", "key": "H#"})
    await handle.acknowledged()
    message = await handle.followup()
    assert is_ephemeral(message) and "Unknown key" in message["content"]


async def test_restyle_upload_and_hostile_files(playground: Playground, music_bot: TunesmithBot) -> None:
    source = await compose(playground, style="classical", mood="calm", seed=5)
    midi = await playground.fetch_attachment(attachment(source, ".mid"))
    handle = await playground.run_command("bob", "restyle", {"style": "latin"}, attachments=[("tune.mid", midi)])
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message) and embed_fields(message)["Style"] == "latin"

    for name, data, expected in (
        ("broken.mid", b"MThd\x00\x00\x00\x06garbage", "could not read"),
        ("notes.txt", b"hello", "upload a MIDI file"),
    ):
        handle = await playground.run_command("bob", "continue", {}, attachments=[(name, data)])
        await handle.acknowledged()
        reply = await handle.followup()
        assert is_ephemeral(reply) and expected in reply["content"], reply["content"]


def midi_file(notes: int, *, step_ticks: int = 240, tempo: int = 500_000) -> bytes:
    """A one-track file of `notes` melody notes, `step_ticks` apart (480 ticks a beat)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Melody"), mido.MetaMessage("set_tempo", tempo=tempo)])
    mid.tracks.append(track)
    for i in range(notes):
        pitch = 67 + (0, 2, 4, 5, 7)[i % 5]
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=step_ticks))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


PYTHON_WORDS = re.compile(r"Error\b|Exception|division by zero|arg is an empty sequence|Traceback")


async def test_uploads_are_acknowledged_before_reading_and_every_refusal_is_a_private_sentence(
    playground: Playground, music_bot: TunesmithBot, caplog: pytest.LogCaptureFixture
) -> None:
    good = midi_file(8)
    zero_tempo = good.replace(b"\xff\x51\x03\x07\xa1\x20", b"\xff\x51\x03\x00\x00\x00")
    assert zero_tempo != good
    hostile = (
        ("empty.mid", b"", "empty"),
        ("truncated.mid", good[: len(good) // 2], "cut short"),
        ("zero-tempo.mid", zero_tempo, "tempo to zero"),
        ("silent.mid", good[:14] + b"MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "no notes"),
        # Under the 1 MiB cap but far more notes than a piece needs: refused before the heavy parse.
        ("huge.mid", midi_file(30_000, step_ticks=1), "30,000 notes"),
    )
    public_before = len(playground.messages())
    with caplog.at_level(logging.INFO):
        for name, data, expected in hostile:
            handle = await playground.run_command("bob", "continue", {}, attachments=[(name, data)])
            ack = await handle.acknowledged()
            assert ack["type"] == 5, f"{name}: the file must be read after the command is acknowledged"
            reply = await handle.followup()
            assert is_ephemeral(reply), (name, reply["content"])
            assert expected in reply["content"] and not PYTHON_WORDS.search(reply["content"]), (name, reply["content"])
    # Each refusal replaced the public "thinking…" message: nothing about the bad files is left in the channel.
    assert len(playground.messages()) == public_before
    refusals = [r for r in caplog.records if r.name == "cogs.compose" and r.getMessage() == "Upload refused"]
    assert len(refusals) == len(hostile) and all(r.levelno == logging.INFO for r in refusals)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a user's bad file is not an operator's error"


async def test_a_file_the_composer_cannot_use_is_told_plainly_and_not_logged_as_an_error(
    playground: Playground, music_bot: TunesmithBot, caplog: pytest.LogCaptureFixture
) -> None:
    drums = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    drums.tracks.append(track)
    for _ in range(16):  # a drum loop: readable, but no melody to continue
        track.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
        track.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=240))
    buffer = io.BytesIO()
    drums.save(file=buffer)
    with caplog.at_level(logging.INFO):
        handle = await playground.run_command("bob", "continue", {}, attachments=[("loop.mid", buffer.getvalue())])
        await handle.acknowledged()
        message = await final_message(handle)
    assert "melody" in (message.get("content") or "") and not PYTHON_WORDS.search(message["content"]), message.get("content")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_file_one_byte_over_the_limit_says_so(playground: Playground, music_bot: TunesmithBot) -> None:
    limit = music_bot.settings.max_upload_midi_bytes
    handle = await playground.run_command("bob", "restyle", {"style": "jazz"}, attachments=[("big.mid", b"MThd" + bytes(limit - 3))])
    ack = await handle.acknowledged()
    reply = await handle.followup()
    assert ack["type"] == 4 and is_ephemeral(reply)  # the size alone decides: refused at once
    assert f"{limit + 1:,} bytes" in reply["content"] and f"{limit:,} bytes" in reply["content"], reply["content"]


async def test_restyle_of_a_one_bar_file_makes_the_shortest_track(playground: Playground, music_bot: TunesmithBot) -> None:
    handle = await playground.run_command("bob", "restyle", {"style": "jazz"}, attachments=[("riff.mid", midi_file(8))])
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message), message.get("content")
    assert embed_fields(message)["Bars"] == "4" and embed_fields(message)["Style"] == "jazz"


async def test_queue_positions_are_shown_while_waiting(playground: Playground, music_bot: TunesmithBot) -> None:
    import re

    users = [playground.add_user(f"fan{i}").name for i in range(6)]
    handles = [await playground.run_command(u, "compose", {"style": "pop", "mood": "happy", "seed": 30 + i}) for i, u in enumerate(users)]
    seen: list[str] = []
    for handle in handles:
        await handle.acknowledged()
        while True:
            message = await handle.followup(timeout=120)
            if is_track(message):
                break
            seen.append(message.get("content") or "")
    assert any(re.fullmatch(r"⏳ \d+(st|nd|rd|th) in queue…", text) for text in seen), seen
    assert "🎼 Composing…" in seen


async def test_prompt_and_taste_choose_style_and_mood(playground: Playground, music_bot: TunesmithBot) -> None:
    from_prompt = await compose(playground, prompt="rainy night in Tokyo", seed=9)
    fields = embed_fields(from_prompt)
    assert (fields["Style"], fields["Mood"]) == ("lofi", "dreamy") and fields["Prompt"] == "rainy night in Tokyo"
    assert not from_prompt.get("content")

    jig = await compose(playground, prompt="a jig for the tavern", seed=9)  # a meter the model cannot write yet: said, not faked
    assert embed_fields(jig)["Style"] == "celtic"
    assert jig["content"] == "ℹ️ You asked for a jig (6/8). Tunesmith writes in 4/4 only for now, so this piece is in 4/4."

    liked = await compose(playground, user="bob", style="celtic", mood="energetic", seed=10)
    await playground.add_reaction("carol", liked, "5️⃣")
    storage = music_bot.services.storage
    track = await storage.tracks.by_message(int(liked["id"]))
    assert track is not None
    await _until(lambda: _score(storage, "carol", playground, track.id), 5)
    for_carol = await compose(playground, user="carol", seed=12)  # neither style nor mood: carol's taste
    assert (embed_fields(for_carol)["Style"], embed_fields(for_carol)["Mood"]) == ("celtic", "energetic")
