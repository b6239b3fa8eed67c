"""Many servers, one bot: the real Tunesmith with the real engine, synced globally as a public bot is, in two
guilds and in DMs. Nothing made or rated in one scope (a server, or one user's DMs) shows in another, and a
server's admins change their own server only; what all servers share only the bot's owners change."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.client import TunesmithBot
from bot.engine import record_serving_version
from bot.playground import Playground, PlaygroundError
from bot.playground.guild import Guild
from engine.service import EngineService
from storage import Scope, Track
from tests.helpers.bot import embed_text, is_ephemeral, make_settings
from tests.helpers import music
from tests.helpers.music import MUSIC_COGS, final_message, is_track
from tests.helpers.playground import StartBot

pytestmark = pytest.mark.timeout(300)


@pytest_asyncio.fixture
async def other_guild(playground: Playground) -> Guild:
    """A second server: dave is its admin; alice (admin of the first) and bob are plain members there."""
    playground.add_user("dave", guilds=[])
    return playground.add_guild("Other", members={"dave": True, "alice": False, "bob": False})


@pytest_asyncio.fixture
async def public_bot(playground: Playground, other_guild: Guild, start_bot: StartBot, engine: EngineService, tmp_path: Path) -> TunesmithBot:
    """Tunesmith with global commands (no sync guild), so both servers and DMs get them; dave is an owner."""
    settings = make_settings(tmp_path / "data", enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0, owner_ids=[playground.user("dave").id])
    bot = await start_bot(TunesmithBot(settings, engine=engine, guild_ready_timeout=0.05, reidentify_delay=0))
    await record_serving_version(bot.services.storage, engine.model_version, music.test_checkpoint())
    return bot


async def answer(pg: Playground, user: str, command: str, options: dict[str, Any] | None = None, *, channel_id: int | None = None) -> dict[str, Any]:
    handle = await pg.run_command(user, command, options or {}, channel_id=channel_id)
    await handle.acknowledged()
    return await handle.followup(timeout=30)


async def compose(pg: Playground, bot: TunesmithBot, user: str, channel_id: int | None = None, **options: Any) -> tuple[dict[str, Any], Track]:
    handle = await pg.run_command(user, "compose", options, channel_id=channel_id)
    await handle.acknowledged()
    message = await final_message(handle)
    assert is_track(message), message.get("content")
    track = await bot.services.storage.tracks.by_message(int(message["id"]))
    assert track is not None
    return message, track


async def rated(bot: TunesmithBot, user_id: int, track_id: int, score: int) -> None:
    for _ in range(100):
        rating = await bot.services.storage.ratings.get(user_id, track_id)
        if rating is not None and rating.score == score:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"rating {score} of track #{track_id} by {user_id} was not stored")


async def test_tracks_stay_in_their_server_and_dm_tracks_with_their_maker(playground: Playground, other_guild: Guild, public_bot: TunesmithBot) -> None:
    bot = public_bot
    b_channel = other_guild.default_channel.id
    carol_dm, bob_dm = playground.dm_channel_id("carol"), playground.dm_channel_id("bob")

    # A track made on server A, rated there by carol.
    in_a, track_a = await compose(playground, bot, "bob", style="blues", mood="sad", seed=3, bars=4)
    assert track_a.guild_id == playground.guild_id
    await playground.add_reaction("carol", in_a, "5️⃣")
    await rated(bot, playground.user("carol").id, track_a.id, 5)

    # A track carol makes in her DM with the bot, rated there (DM reactions reach the bot).
    in_dm, track_dm = await compose(playground, bot, "carol", channel_id=carol_dm, style="jazz", mood="calm", seed=4, bars=4)
    assert track_dm.guild_id is None and track_dm.user_id == playground.user("carol").id
    assert in_dm["channel_id"] == str(carol_dm)
    await playground.add_reaction("carol", in_dm, "4️⃣")
    await rated(bot, playground.user("carol").id, track_dm.id, 4)

    # Server B never shows A's track: not by id, not in anyone's history, not in its charts or recommendations.
    shown = await answer(playground, "bob", "track", {"id": track_a.id}, channel_id=b_channel)
    assert is_ephemeral(shown) and f"There is no track #{track_a.id} on this server." in shown["content"]
    history_b = embed_text(await answer(playground, "bob", "history", channel_id=b_channel))
    assert track_a.label not in history_b and "None yet" in history_b
    stats_b = await answer(playground, "bob", "stats", channel_id=b_channel)
    assert "No tracks on this server yet" in stats_b["content"]
    recommended_b = embed_text(await answer(playground, "alice", "recommend", channel_id=b_channel))
    assert track_a.label not in recommended_b and track_dm.label not in recommended_b

    # Server A never shows carol's DM track, and carol's DM rating is not part of her history there.
    dm_from_a = await answer(playground, "alice", "track", {"id": track_dm.id})
    assert f"There is no track #{track_dm.id} on this server." in dm_from_a["content"]
    carol_in_a = embed_text(await answer(playground, "carol", "history"))
    assert track_a.label in carol_in_a and track_dm.label not in carol_in_a

    # Another user's DM never shows it either; carol's own DM does, and only her DM things.
    bobs_view = await answer(playground, "bob", "track", {"id": track_dm.id}, channel_id=bob_dm)
    assert f"There is no track #{track_dm.id} in your DMs." in bobs_view["content"]
    bob_dm_history = embed_text(await answer(playground, "bob", "history", channel_id=bob_dm))
    assert track_dm.label not in bob_dm_history and track_a.label not in bob_dm_history
    carols_view = embed_text(await answer(playground, "carol", "track", {"id": track_dm.id}, channel_id=carol_dm))
    assert f"Track #{track_dm.id}" in carols_view and "Seed: 4" in carols_view
    carol_dm_history = embed_text(await answer(playground, "carol", "history", channel_id=carol_dm))
    assert track_dm.label in carol_dm_history and "★★★★☆" in carol_dm_history
    assert track_a.label not in carol_dm_history  # her rating of A's track stays on A
    a_from_dm = await answer(playground, "carol", "track", {"id": track_a.id}, channel_id=carol_dm)
    assert f"There is no track #{track_a.id} in your DMs." in a_from_dm["content"]

    # Storage agrees, scope by scope.
    tracks = bot.services.storage.tracks
    assert [t.id for t in await tracks.in_scope(Scope.guild(other_guild.id))] == []
    assert [t.id for t in await tracks.in_scope(Scope.dm(playground.user("bob").id))] == []
    assert [t.id for t in await tracks.in_scope(Scope.dm(playground.user("carol").id))] == [track_dm.id]


async def test_commands_say_where_they_work(playground: Playground, other_guild: Guild, public_bot: TunesmithBot) -> None:
    commands = {c["name"]: c for c in playground.registered_commands()}
    private_too = {"compose", "restyle", "continue", "history", "track"}
    for name, command in commands.items():
        expected = [0, 1] if name in private_too else [0]
        assert command["contexts"] == expected, name
    assert commands["settings"]["default_member_permissions"] == commands["plugins"]["default_member_permissions"] == str(1 << 5)

    carol_dm = playground.dm_channel_id("carol")
    for name in ("settings show", "plugins list", "stats", "recommend"):
        with pytest.raises(PlaygroundError, match="is not offered in DMs"):
            await playground.run_command("carol", name, channel_id=carol_dm)


async def test_an_admin_changes_only_their_own_server_and_only_owners_change_shared_things(
    playground: Playground, other_guild: Guild, public_bot: TunesmithBot
) -> None:
    bot = public_bot
    servers = bot.services.storage.servers
    b_channel = other_guild.default_channel.id

    # alice is an admin of A, not of B: Discord does not offer her B's /settings, and if B opened the
    # command to her, the bot still refuses.
    with pytest.raises(PlaygroundError, match="does not show /settings to alice in Other"):
        await playground.run_command("alice", "settings set default_style", {"style": "rock"}, channel_id=b_channel)
    playground.set_command_permission(other_guild.id, "settings", "alice", True)
    refused = await answer(playground, "alice", "settings set default_style", {"style": "rock"}, channel_id=b_channel)
    assert "Only server admins" in refused["content"]
    assert (await servers.get(other_guild.id)).default_style is None

    # Each server's admin sets their own server's settings; the other server keeps its own.
    await answer(playground, "alice", "settings set default_style", {"style": "jazz"})
    await answer(playground, "dave", "settings set default_style", {"style": "rock"}, channel_id=b_channel)
    assert (await servers.get(playground.guild_id)).default_style == "jazz"
    assert (await servers.get(other_guild.id)).default_style == "rock"

    # Plugin code is shared by every server: a server admin who is not an owner cannot load, unload or reload it.
    for command in ("plugins reload", "plugins unload"):
        refused = await answer(playground, "alice", command, {"name": "library"})
        assert "Only the bot's owners" in refused["content"], command
    assert bot.plugins.is_loaded("library")

    # dave owns the bot: he reloads plugin code (from B), and counts as an admin on A too.
    reloaded = await answer(playground, "dave", "plugins reload", {"name": "library"}, channel_id=b_channel)
    assert "Reloaded library" in reloaded["content"]
    playground.add_member(playground.guild_id, "dave")
    playground.set_command_permission(playground.guild_id, "settings", "dave", True)
    await answer(playground, "dave", "settings set default_mood", {"mood": "happy"})
    assert (await servers.get(playground.guild_id)).default_mood == "happy"
    assert (await servers.get(other_guild.id)).default_mood is None


async def test_queue_caps_are_per_scope(playground: Playground, other_guild: Guild, public_bot: TunesmithBot) -> None:
    bot = public_bot
    carol_dm, bob_dm = playground.dm_channel_id("carol"), playground.dm_channel_id("bob")
    bot.settings.server_queue_cap = 1
    try:
        holder = await playground.run_command("carol", "compose", {"style": "game", "mood": "happy", "bars": 16, "seed": 7}, channel_id=carol_dm)
        await holder.acknowledged()
        again = await playground.run_command("carol", "compose", {"style": "game", "mood": "happy", "seed": 9}, channel_id=carol_dm)
        await again.acknowledged()
        reply = await again.followup()
        assert is_ephemeral(reply) and "You already have 1 tracks on the way" in reply["content"]
        # Another user's DM and a server each have their own queue.
        bobs = await playground.run_command("bob", "compose", {"style": "folk", "mood": "calm", "seed": 8, "bars": 4}, channel_id=bob_dm)
        await bobs.acknowledged()
        in_a = await playground.run_command("alice", "compose", {"style": "folk", "mood": "calm", "seed": 10, "bars": 4})
        await in_a.acknowledged()
        assert is_track(await final_message(bobs)) and is_track(await final_message(in_a))
        assert is_track(await final_message(holder))
    finally:
        bot.settings.server_queue_cap = 20


async def test_a_thread_under_an_allowed_channel_is_allowed(playground: Playground, other_guild: Guild, public_bot: TunesmithBot) -> None:
    music = playground.add_channel("music")
    await answer(playground, "alice", "settings set channels", {"channels": f"<#{music}>"})
    refused = await answer(playground, "bob", "compose", {"style": "folk", "mood": "calm", "bars": 4})
    assert is_ephemeral(refused) and f"Tunesmith composes only in <#{music}>" in refused["content"]
    thread = playground.add_thread(music, "jam", owner="bob")
    _, track = await compose(playground, public_bot, "bob", channel_id=thread, style="folk", mood="calm", seed=2, bars=4)
    assert track.channel_id == thread and track.guild_id == playground.guild_id
    # A thread can be named itself, too.
    named = await answer(playground, "alice", "settings set channels", {"channels": f"<#{thread}>"})
    assert f"<#{thread}>" in embed_text(named)
