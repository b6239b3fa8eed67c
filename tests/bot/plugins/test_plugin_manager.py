from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from bot.plugins import PluginManager, PluginStatus
from tests.helpers.bot import PluginFolder, fake_distribution, plugin_source


class SyncRecorder:
    def __init__(self) -> None:
        self.calls = 0
        self.fail_with: Exception | None = None

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def sync() -> SyncRecorder:
    return SyncRecorder()


@pytest.fixture
async def bot() -> AsyncIterator[commands.Bot]:
    # load_extension and the command tree work without logging in, which keeps these tests fast.
    offline = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    yield offline
    await offline.close()


@pytest.fixture
def manager(bot: commands.Bot, plugin_folder: PluginFolder, sync: SyncRecorder) -> PluginManager:
    return PluginManager(bot, sync=sync, bot_version="0.5.0", builtin_package=plugin_folder.package, core_plugins={"core"})


def commands_of(bot: commands.Bot) -> set[str]:
    return {command.name for command in bot.tree.get_commands()}


async def test_load_adds_the_commands_reports_the_version_and_syncs(
    manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot, sync: SyncRecorder
) -> None:
    plugin_folder.write("greet", plugin_source("greet", version="1.0.0"))
    outcome = await manager.load("greet")
    assert outcome.status is PluginStatus.LOADED
    assert outcome.manifest is not None and outcome.manifest.version == "1.0.0"
    assert commands_of(bot) == {"greet"}
    assert manager.loaded_names == ["greet"]
    assert sync.calls == 1


async def test_loading_twice_reports_already_loaded_without_syncing(manager: PluginManager, plugin_folder: PluginFolder, sync: SyncRecorder) -> None:
    plugin_folder.write("greet", plugin_source("greet"))
    await manager.load("greet")
    outcome = await manager.load(" Greet ")
    assert outcome.status is PluginStatus.ALREADY_LOADED
    assert sync.calls == 1


async def test_unknown_names_are_not_found_and_the_reason_lists_what_exists(manager: PluginManager, plugin_folder: PluginFolder) -> None:
    plugin_folder.write("greet", plugin_source("greet"))
    for action in (manager.load, manager.unload, manager.reload):
        outcome = await action("nope")
        assert outcome.status is PluginStatus.NOT_FOUND
        assert "greet" in outcome.reason


async def test_unload_removes_the_commands_and_a_second_unload_says_not_loaded(
    manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot, sync: SyncRecorder
) -> None:
    plugin_folder.write("greet", plugin_source("greet"))
    await manager.load("greet")
    assert (await manager.unload("greet")).status is PluginStatus.UNLOADED
    assert commands_of(bot) == set()
    assert plugin_folder.module("greet") not in sys.modules
    assert (await manager.unload("greet")).status is PluginStatus.NOT_LOADED
    assert (await manager.reload("greet")).status is PluginStatus.NOT_LOADED
    assert sync.calls == 2


async def test_reload_picks_up_the_new_file(manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot) -> None:
    plugin_folder.write("greet", plugin_source("greet", version="1.0.0"))
    await manager.load("greet")
    plugin_folder.write("greet", plugin_source("greet", version="1.1.0", command="greet_v2"))
    outcome = await manager.reload("greet")
    assert outcome.status is PluginStatus.RELOADED
    assert (outcome.previous_version, outcome.manifest and outcome.manifest.version) == ("1.0.0", "1.1.0")
    assert "1.0.0 → 1.1.0" in outcome.summary()
    assert commands_of(bot) == {"greet_v2"}


async def test_a_reload_with_a_syntax_error_fails_and_keeps_the_old_version(
    manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot, sync: SyncRecorder
) -> None:
    plugin_folder.write("greet", plugin_source("greet", version="1.0.0"))
    await manager.load("greet")
    plugin_folder.write("greet", plugin_source("greet", version="1.1.0") + "\ndef broken(:\n")
    outcome = await manager.reload("greet")
    assert outcome.status is PluginStatus.FAILED
    assert "SyntaxError" in outcome.reason and "previous version is still running" in outcome.reason
    assert commands_of(bot) == {"greet"}
    running = manager.running_manifest("greet")
    assert running is not None and running.version == "1.0.0"
    assert sync.calls == 1  # only the first load changed anything


async def test_a_reload_whose_setup_raises_is_rolled_back_by_discord_py(manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot) -> None:
    # This one passes the manager's own pre-check (it imports fine), so it is discord.py's reload_extension
    # that must put the old module back and re-run its setup().
    plugin_folder.write("greet", plugin_source("greet", version="1.0.0"))
    await manager.load("greet")
    old_cog = bot.get_cog("TestCog")
    plugin_folder.write("greet", plugin_source("greet", version="2.0.0", command="greet_v2", setup_body="raise RuntimeError('database gone')"))
    outcome = await manager.reload("greet")
    assert outcome.status is PluginStatus.FAILED
    assert "RuntimeError: database gone" in outcome.reason
    assert commands_of(bot) == {"greet"}
    assert bot.get_cog("TestCog") is not None and bot.get_cog("TestCog") is not old_cog  # the old setup() ran again
    assert sys.modules[plugin_folder.module("greet")].MANIFEST.version == "1.0.0"
    assert manager.is_loaded("greet")


async def test_an_incompatible_plugin_is_refused_before_its_setup_runs(manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot) -> None:
    plugin_folder.write("future", plugin_source("future", bot_versions=">=2.0", setup_body="raise AssertionError('setup must not run')"))
    outcome = await manager.load("future")
    assert outcome.status is PluginStatus.INCOMPATIBLE
    assert ">=2.0" in outcome.reason and "0.5.0" in outcome.reason
    assert commands_of(bot) == set() and not manager.is_loaded("future")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("import not_a_real_module_xyz\n", "ModuleNotFoundError: No module named 'not_a_real_module_xyz'"),
        ("async def setup(bot):\n    pass\n", "has no MANIFEST"),
        (plugin_source("greet").replace("async def setup(bot):", "async def not_setup(bot):"), "no `async def setup(bot)`"),
        (plugin_source("greet", setup_body="raise ValueError('bad config')"), "ValueError: bad config"),
    ],
)
async def test_broken_plugins_fail_with_a_reason(manager: PluginManager, plugin_folder: PluginFolder, bot: commands.Bot, text: str, reason: str) -> None:
    plugin_folder.write("greet", text)
    outcome = await manager.load("greet")
    assert outcome.status is PluginStatus.FAILED
    assert reason in outcome.reason
    assert not manager.is_loaded("greet") and commands_of(bot) == set()


async def test_core_plugins_cannot_be_unloaded_but_can_be_reloaded(manager: PluginManager, plugin_folder: PluginFolder) -> None:
    plugin_folder.write("core", plugin_source("core"))
    await manager.load("core")
    refused = await manager.unload("core")
    assert refused.status is PluginStatus.FAILED and "cannot be unloaded" in refused.reason
    assert manager.is_loaded("core")
    assert (await manager.reload("core")).status is PluginStatus.RELOADED


async def test_an_installed_package_loads_through_its_entry_point(manager: PluginManager, plugin_site: Path, bot: commands.Bot) -> None:
    (plugin_site / "wave_mod.py").write_text(plugin_source("wave", version="3.0.0"))
    fake_distribution(plugin_site, "wave-plugin", {"wave": "wave_mod"}, version="3.0.0")
    outcome = await manager.load("wave")
    assert outcome.status is PluginStatus.LOADED
    assert commands_of(bot) == {"wave"}
    info = next(i for i in manager.list_plugins() if i.name == "wave")
    assert info.loaded and info.source.origin_label == "package wave-plugin 3.0.0"
    sys.modules.pop("wave_mod", None)


async def test_list_shows_state_version_and_why_a_plugin_cannot_load(manager: PluginManager, plugin_folder: PluginFolder) -> None:
    plugin_folder.write("greet", plugin_source("greet", version="1.0.0"))
    plugin_folder.write("idle", plugin_source("idle", version="0.3.0"))
    plugin_folder.write("future", plugin_source("future", bot_versions=">=2.0"))
    plugin_folder.write("broken", "raise ImportError('missing dependency')\n")
    await manager.load("greet")
    infos = {info.name: info for info in manager.list_plugins()}
    assert [infos[n].state for n in ("broken", "future", "greet", "idle")] == ["unavailable", "unavailable", "loaded", "not loaded"]
    assert infos["greet"].manifest is not None and infos["greet"].manifest.version == "1.0.0"
    assert infos["broken"].problem == "ImportError: missing dependency"
    assert infos["future"].problem is not None and ">=2.0" in infos["future"].problem


async def test_listing_does_not_disturb_the_running_modules(manager: PluginManager, plugin_folder: PluginFolder) -> None:
    plugin_folder.write("greet", plugin_source("greet"))
    plugin_folder.write("idle", plugin_source("idle"))
    await manager.load("greet")
    before = sys.modules[plugin_folder.module("greet")]
    manager.list_plugins()
    assert sys.modules[plugin_folder.module("greet")] is before
    assert plugin_folder.module("idle") not in sys.modules


async def test_a_failed_sync_is_reported_on_the_outcome(manager: PluginManager, plugin_folder: PluginFolder, sync: SyncRecorder) -> None:
    plugin_folder.write("greet", plugin_source("greet"))
    sync.fail_with = RuntimeError("rate limited")
    outcome = await manager.load("greet")
    assert outcome.status is PluginStatus.LOADED
    assert outcome.sync_error == "RuntimeError: rate limited"
    assert "could not be updated" in outcome.summary()
