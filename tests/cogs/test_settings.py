"""`/settings` end to end through the playground, and its input parsing."""

from __future__ import annotations

import re

import pytest

from bot.client import TunesmithBot
from bot.errors import UserFacingError
from bot.playground import Playground, PlaygroundError
from cogs.settings import parse_ids, parse_styles
from storage import ServerSettings, Storage
from tests.helpers.bot import StartTunesmith, answer, embed_text, is_ephemeral

ROLE = re.compile(r"^<@&(\d+)>$")


async def stored(bot: TunesmithBot, playground: Playground) -> ServerSettings:
    return await bot.services.storage.servers.get(playground.guild_id)


async def test_an_admin_sets_the_default_style_and_it_persists_in_storage(tunesmith: TunesmithBot, playground: Playground) -> None:
    message = await answer(playground, "alice", "settings set default_style", {"style": "jazz"})
    assert is_ephemeral(message)
    assert "Default style: jazz." in message["content"]
    assert "Default style: jazz" in embed_text(message)
    # Read back through a separate connection: the change is committed to the database file.
    async with await Storage.open(tunesmith.settings.database_path, tunesmith.settings.media_dir) as other:
        assert (await other.servers.get(playground.guild_id)).default_style == "jazz"

    cleared = await answer(playground, "alice", "settings set default_style")
    assert "Default style: none." in cleared["content"]
    assert (await stored(tunesmith, playground)).default_style is None


async def test_non_admins_cannot_see_or_change_settings(tunesmith: TunesmithBot, playground: Playground) -> None:
    cases = [("settings show", {}), ("settings set default_mood", {"mood": "sad"}), ("settings reset", {})]
    for command, options in cases:  # shown only to members with Manage Server
        with pytest.raises(PlaygroundError, match="does not show /settings to bob"):
            await playground.run_command("bob", command, options)
    # Opened to bob through the server's integration settings, the bot itself still refuses him.
    playground.set_command_permission(playground.guild_id, "settings", "bob", True)
    for command, options in cases:
        message = await answer(playground, "bob", command, options)
        assert is_ephemeral(message) and "Only server admins" in message["content"], command
    assert (await stored(tunesmith, playground)).default_mood is None


async def test_settings_are_for_servers_and_admin_only_by_default(tunesmith: TunesmithBot, playground: Playground) -> None:
    command = next(c for c in playground.registered_commands(playground.guild_id) if c["name"] == "settings")
    assert command["default_member_permissions"] == str(1 << 5)  # Manage Server
    assert command["dm_permission"] is False and command["contexts"] == [0]


async def test_bot_owners_count_as_admins(start_tunesmith: StartTunesmith, playground: Playground) -> None:
    bob = playground.user("bob")
    playground.set_command_permission(playground.guild_id, "settings", bob.id, True)  # an owner without Manage Server here
    bot = await start_tunesmith(enabled_cogs=["plugins", "settings"], owner_ids=[bob.id])
    message = await answer(playground, "bob", "settings set default_mood", {"mood": "sad"})
    assert "Default mood: sad." in message["content"]
    assert (await stored(bot, playground)).default_mood == "sad"


async def test_allowed_styles_are_canonicalised_and_bad_names_explained(tunesmith: TunesmithBot, playground: Playground) -> None:
    ok = await answer(playground, "alice", "settings set allowed_styles", {"styles": "Jazz, bossa"})
    assert "Allowed styles: jazz, latin" in embed_text(ok)
    bad = await answer(playground, "alice", "settings set allowed_styles", {"styles": "jazz, polka"})
    assert is_ephemeral(bad) and "Unknown style 'polka'" in bad["content"] and "celtic" in bad["content"]
    conflict = await answer(playground, "alice", "settings set default_style", {"style": "rock"})
    assert "not among the allowed styles" in conflict["content"]
    everything = await answer(playground, "alice", "settings set allowed_styles", {"styles": "all"})
    assert "Allowed styles: all" in embed_text(everything)
    assert (await stored(tunesmith, playground)).allowed_styles == ()


async def test_channels_cooldown_and_admin_roles(tunesmith: TunesmithBot, playground: Playground) -> None:
    channel = await answer(playground, "alice", "settings set channels", {"channels": f"<#{playground.channel_id}>"})
    assert f"Channels: <#{playground.channel_id}>" in embed_text(channel)
    unknown = await answer(playground, "alice", "settings set channels", {"channels": "<#123>"})
    assert "no text channel or thread with id 123" in unknown["content"]
    thread_id = playground.add_thread(playground.channel_id, "ideas", owner="alice")
    in_thread = await answer(playground, "alice", "settings set channels", {"channels": f"<#{thread_id}>"})
    assert f"Channels: <#{thread_id}>" in embed_text(in_thread)
    channel = await answer(playground, "alice", "settings set channels", {"channels": f"<#{playground.channel_id}>"})
    cooldown = await answer(playground, "alice", "settings set cooldown", {"seconds": 12.5})
    assert "Cooldown per user: 12.5 s" in embed_text(cooldown)
    roles = await answer(playground, "alice", "settings set admin_roles", {"roles": f"<@&{playground.admin_role_id}>"})
    assert f"Admin roles: <@&{playground.admin_role_id}>" in embed_text(roles)
    everyone = await answer(playground, "alice", "settings set admin_roles", {"roles": f"<@&{playground.guild_id}>"})
    assert "that can be an admin role" in everyone["content"]

    settings = await stored(tunesmith, playground)
    assert settings.allowed_channel_ids == (playground.channel_id,)
    assert settings.cooldown_seconds == 12.5
    assert settings.admin_role_ids == (playground.admin_role_id,)

    shown = embed_text(await answer(playground, "alice", "settings show"))
    assert "Cooldown per user: 12.5 s" in shown
    reset = await answer(playground, "alice", "settings reset")
    assert "Settings reset" in reset["content"] and "Channels: all" in embed_text(reset)
    assert (await stored(tunesmith, playground)).allowed_channel_ids == ()


def test_parse_styles() -> None:
    assert parse_styles(" jazz ,blues,, ") == ["jazz", "blues"]
    assert parse_styles("ALL") == []
    with pytest.raises(UserFacingError, match="separated by commas"):
        parse_styles(" , ")


def test_parse_ids_accepts_mentions_and_ids_and_explains_the_rest() -> None:
    assert parse_ids("<@&1> 2, <@&1>", ROLE, "role", empty_words=("none",)) == [1, 2]
    assert parse_ids("None", ROLE, "role", empty_words=("none",)) == []
    with pytest.raises(UserFacingError, match="'@mods' is not a role"):
        parse_ids("@mods", ROLE, "role", empty_words=("none",))


async def test_an_error_naming_many_unknown_roles_still_reaches_the_admin(tunesmith: TunesmithBot, playground: Playground) -> None:
    """150 unknown role ids make a refusal longer than Discord's 2,000 characters: it is cut to fit, not lost."""
    roles = " ".join(f"<@&{10**17 + i}>" for i in range(150))
    message = await answer(playground, "alice", "settings set admin_roles", {"roles": roles})
    assert is_ephemeral(message) and len(message["content"]) <= 2000
    assert message["content"].startswith("This server has no role with id")
    assert "more characters)" in message["content"]
