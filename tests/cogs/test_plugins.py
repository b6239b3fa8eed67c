"""`/plugins` end to end: the real bot, through the playground, driven by simulated users."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from bot.client import TunesmithBot
from bot.config import PROJECT_ROOT
from bot.playground import Playground, PlaygroundError
from bot.plugins import PluginInfo, PluginManifest, PluginSource
from cogs.plugins import render_list, render_plugin
from tests.helpers.bot import StartTunesmith, answer, embed_text, fake_distribution, is_ephemeral, plugin_source

REFUSAL = "Only server admins can use this command"
OWNERS_ONLY = "Only the bot's owners can load, unload or reload plugins"


@pytest_asyncio.fixture
async def tunesmith(start_tunesmith: StartTunesmith, playground: Playground) -> TunesmithBot:
    """The core cogs, with alice (the playground's server admin) also one of the bot's owners: plugin code is
    shared by every server, so only owners load, unload and reload it."""
    return await start_tunesmith(enabled_cogs=["plugins", "settings"], owner_ids=[playground.user("alice").id])


def command_names(playground: Playground) -> set[str]:
    return {command["name"] for command in playground.registered_commands(playground.guild_id)}


async def test_the_bot_syncs_its_default_plugins_commands(tunesmith: TunesmithBot, playground: Playground) -> None:
    assert {"plugins", "settings"} <= command_names(playground)
    assert tunesmith.plugins.loaded_names == ["plugins", "settings"]


async def test_an_admin_lists_plugins_with_version_state_and_data(tunesmith: TunesmithBot, playground: Playground) -> None:
    message = await answer(playground, "alice", "plugins list")
    assert is_ephemeral(message)
    text = embed_text(message)
    assert "**plugins** 1.0.0 · loaded · built-in" in text
    assert "**settings** 1.0.0 · loaded · built-in" in text
    assert "Stores: None." in text
    assert f"Tunesmith {tunesmith.version}" in text


async def test_non_admins_are_refused_every_plugin_command(tunesmith: TunesmithBot, playground: Playground) -> None:
    cases = [
        ("plugins list", {}),
        ("plugins reload", {"name": "settings"}),
        ("plugins unload", {"name": "settings"}),
        ("plugins load", {"name": "settings"}),
    ]
    for command, options in cases:  # Discord does not even offer them: they need Manage Server
        with pytest.raises(PlaygroundError, match="does not show /plugins to bob"):
            await playground.run_command("bob", command, options)
    # A server can open /plugins to anyone (Server Settings > Integrations); the bot still refuses them.
    playground.set_command_permission(playground.guild_id, "plugins", "bob", True)
    for command, options in cases:
        message = await answer(playground, "bob", command, options)
        assert is_ephemeral(message), command
        expected = REFUSAL if command == "plugins list" else OWNERS_ONLY
        assert expected in message["content"], command
    assert tunesmith.plugins.loaded_names == ["plugins", "settings"]
    assert "settings" in command_names(playground)


async def test_an_admin_reloads_and_unloads_a_plugin_and_the_commands_follow(tunesmith: TunesmithBot, playground: Playground) -> None:
    reloaded = await answer(playground, "alice", "plugins reload", {"name": "settings"})
    assert is_ephemeral(reloaded) and "Reloaded settings (1.0.0)." in reloaded["content"]
    assert "settings" in command_names(playground)

    unloaded = await answer(playground, "alice", "plugins unload", {"name": "settings"})
    assert "Unloaded settings." in unloaded["content"]
    assert "settings" not in command_names(playground)
    again = await answer(playground, "alice", "plugins unload", {"name": "settings"})
    assert "settings is not loaded." in again["content"]

    loaded = await answer(playground, "alice", "plugins load", {"name": "settings"})
    assert "Loaded settings 1.0.0." in loaded["content"]
    assert "settings" in command_names(playground)
    already = await answer(playground, "alice", "plugins load", {"name": "settings"})
    assert "already loaded" in already["content"]


async def test_unknown_plugins_are_reported_not_found(tunesmith: TunesmithBot, playground: Playground) -> None:
    message = await answer(playground, "alice", "plugins load", {"name": "nope"})
    assert "No plugin named 'nope'" in message["content"] and "settings" in message["content"]


async def test_the_plugins_plugin_refuses_to_unload_itself(tunesmith: TunesmithBot, playground: Playground) -> None:
    message = await answer(playground, "alice", "plugins unload", {"name": "plugins"})
    assert "cannot be unloaded" in message["content"]
    assert "plugins" in command_names(playground)


async def test_a_broken_reload_fails_and_the_old_version_keeps_answering(tunesmith: TunesmithBot, playground: Playground, plugin_site: Path) -> None:
    module = plugin_site / "echo_plugin.py"
    module.write_text(plugin_source("echo", version="1.0.0", reply="echo v1"))
    fake_distribution(plugin_site, "echo-plugin", {"echo": "echo_plugin"})
    assert "Loaded echo 1.0.0." in (await answer(playground, "alice", "plugins load", {"name": "echo"}))["content"]
    assert (await answer(playground, "carol", "echo"))["content"] == "echo v1"

    module.write_text(plugin_source("echo", version="1.1.0", reply="echo v2") + "\ndef broken(:\n")
    failed = await answer(playground, "alice", "plugins reload", {"name": "echo"})
    assert "echo failed: SyntaxError" in failed["content"] and "previous version is still running" in failed["content"]
    assert (await answer(playground, "carol", "echo"))["content"] == "echo v1"

    module.write_text(plugin_source("echo", version="1.1.0", reply="echo v2, longer"))
    fixed = await answer(playground, "alice", "plugins reload", {"name": "echo"})
    assert "Reloaded echo (1.0.0 → 1.1.0)." in fixed["content"]
    assert (await answer(playground, "carol", "echo"))["content"] == "echo v2, longer"
    await answer(playground, "alice", "plugins unload", {"name": "echo"})


async def test_load_suggests_plugins_that_are_not_loaded(tunesmith: TunesmithBot, playground: Playground) -> None:
    await answer(playground, "alice", "plugins unload", {"name": "settings"})
    load_choices = [c["value"] for c in await playground.autocomplete("alice", "plugins load", {"name": "se"}, "name")]
    reload_choices = [c["value"] for c in await playground.autocomplete("alice", "plugins reload", {"name": ""}, "name")]
    assert load_choices[0] == "settings"  # names that start with what was typed come first
    assert all("se" in name for name in load_choices) and "plugins" not in load_choices
    assert reload_choices == tunesmith.plugins.loaded_names and "settings" not in reload_choices


@pytest.fixture(scope="module")
def hello_plugin_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """examples/hello_plugin, built and installed by pip into a folder put on sys.path (the venv stays untouched)."""
    work = tmp_path_factory.mktemp("hello_plugin")
    source = shutil.copytree(PROJECT_ROOT / "examples" / "hello_plugin", work / "source")  # build files stay out of the repo
    target = work / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True, timeout=180,
    )  # fmt: skip
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m == "hello_plugin" or m.startswith("hello_plugin.")]:
        del sys.modules[name]


async def test_the_example_plugin_package_installs_and_loads_through_its_entry_point(
    hello_plugin_installed: Path, tunesmith: TunesmithBot, playground: Playground
) -> None:
    listed = embed_text(await answer(playground, "alice", "plugins list"))
    assert "**hello** 1.0.0 · not loaded · package tunesmith-hello 1.0.0" in listed
    assert "hello" not in command_names(playground)

    loaded = await answer(playground, "alice", "plugins load", {"name": "hello"})
    assert "Loaded hello 1.0.0." in loaded["content"]
    assert "hello" in command_names(playground)
    greeting = await answer(playground, "carol", "hello", {"name": "Carol"})
    assert greeting["content"] == f"Hello, Carol! This is Tunesmith {tunesmith.version}."

    assert "Unloaded hello." in (await answer(playground, "alice", "plugins unload", {"name": "hello"}))["content"]
    assert "hello" not in command_names(playground)


async def test_server_admins_may_list_but_only_owners_change_plugins(start_tunesmith: StartTunesmith, playground: Playground) -> None:
    carol = playground.user("carol")
    playground.set_command_permission(playground.guild_id, "plugins", carol.id, True)  # an owner without Manage Server here
    bot = await start_tunesmith(enabled_cogs=["plugins", "settings"], owner_ids=[carol.id])
    assert (await answer(playground, "alice", "plugins list"))["embeds"]
    for command in ("plugins unload", "plugins reload", "plugins load"):
        refused = await answer(playground, "alice", command, {"name": "settings"})
        assert is_ephemeral(refused) and OWNERS_ONLY in refused["content"], command
    assert bot.plugins.is_loaded("settings")
    allowed = await answer(playground, "carol", "plugins unload", {"name": "settings"})
    assert "Unloaded settings." in allowed["content"]


async def test_letting_server_admins_change_plugin_code_is_refused_at_start(start_tunesmith: StartTunesmith) -> None:
    with pytest.raises(ValueError, match="plugins_owner_only = false is no longer supported"):
        await start_tunesmith(enabled_cogs=["plugins"], plugins_owner_only=False)


def _info(name: str, *, loaded: bool = True, permissions: tuple[str, ...] = (), problem: str | None = None) -> PluginInfo:
    manifest = PluginManifest(name=name, version="1.0.0", description=f"The {name} plugin.", permissions=list(permissions))
    return PluginInfo(PluginSource(name, f"cogs.{name}", "builtin"), loaded=loaded, manifest=None if problem else manifest, problem=problem)


def test_the_listing_warns_about_permissions_the_bot_lacks_here() -> None:
    info = _info("compose", permissions=("attach_files", "add_reactions"))
    text = render_plugin(info, discord.Permissions(attach_files=True))
    assert "Needs: attach_files, add_reactions" in text
    assert "⚠️ The bot lacks add_reactions in this channel." in text


def test_the_listing_shows_why_a_plugin_is_unavailable() -> None:
    text = render_plugin(_info("broken", loaded=False, problem="SyntaxError: invalid syntax (broken.py, line 3)"), None)
    assert text.startswith("⚠️ **broken** · unavailable · built-in")
    assert "> SyntaxError" in text


def test_a_long_listing_stays_within_discords_embed_limit() -> None:
    infos = [_info(f"plugin{i}") for i in range(200)]
    embed = render_list(infos, None, "0.1.0")
    assert embed.description is not None and len(embed.description) <= 4096
    assert embed.description.endswith("more.")
    assert embed.footer.text == "Tunesmith 0.1.0 · 200 of 200 loaded"


async def test_the_plugins_plugin_can_reload_itself_and_keeps_working(tunesmith: TunesmithBot, playground: Playground) -> None:
    reloaded = await answer(playground, "alice", "plugins reload", {"name": "plugins"})
    assert "Reloaded plugins (1.0.0)." in reloaded["content"]
    assert "**plugins** 1.0.0 · loaded" in embed_text(await answer(playground, "alice", "plugins list"))
    with pytest.raises(PlaygroundError, match="does not show /plugins to bob"):
        await playground.run_command("bob", "plugins list")
