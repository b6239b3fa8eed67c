"""A real discord.py bot connects to the playground, syncs commands and answers a slash command."""

from __future__ import annotations

from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground


async def test_bot_connects_and_sees_the_guild(playground: Playground, start_bot) -> None:
    bot = await start_bot(PlaygroundTestBot())
    guild = bot.get_guild(playground.guild_id)
    assert bot.user is not None and bot.user.id == playground.bot_user.id
    assert guild is not None and guild.name == "Playground"
    assert guild.get_channel(playground.channel_id).name == "general"
    alice = guild.get_member(playground.user("alice").id)
    bob = guild.get_member(playground.user("bob").id)
    assert alice.guild_permissions.manage_guild and not bob.guild_permissions.manage_guild
    assert {m.name for m in guild.members} >= {"alice", "bob", "carol", "Tunesmith"}


async def test_command_sync_is_visible(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    names = {c["name"] for c in playground.registered_commands()}
    assert {"ping", "compose", "plugins"} <= names
    compose = next(c for c in playground.registered_commands() if c["name"] == "compose")
    style = next(o for o in compose["options"] if o["name"] == "style")
    assert [c["value"] for c in style["choices"]] == ["jazz", "rock"]


async def test_slash_command_answered_immediately(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    handle = await playground.run_command(playground.user("bob"), "ping")
    callback = await handle.acknowledged(timeout=5)
    message = await handle.followup(timeout=5)
    assert callback["type"] == 4
    assert message["content"] == "pong"
    assert message["interaction_metadata"]["user"]["username"] == "bob"
    assert playground.messages()[-1]["content"] == "pong"
