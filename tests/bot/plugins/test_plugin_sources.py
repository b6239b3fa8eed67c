from __future__ import annotations

from pathlib import Path

from bot.plugins.sources import builtin_sources, discover, entry_point_sources
from tests.helpers.bot import PluginFolder, fake_distribution, plugin_source


def test_builtin_sources_are_the_public_modules_of_the_package(plugin_folder: PluginFolder) -> None:
    plugin_folder.write("alpha", plugin_source("alpha"))
    plugin_folder.write("_private", "")
    sources = builtin_sources(plugin_folder.package)
    assert [(s.name, s.module, s.origin) for s in sources] == [("alpha", plugin_folder.module("alpha"), "builtin")]


def test_the_real_cogs_package_provides_plugins_and_settings() -> None:
    names = {source.name for source in builtin_sources()}
    assert {"plugins", "settings"} <= names


def test_entry_points_are_found_with_their_distribution(plugin_site: Path) -> None:
    fake_distribution(plugin_site, "greeter-plugin", {"greeter": "greeter_mod"}, version="2.1.0")
    sources = {s.name: s for s in entry_point_sources()}
    assert sources["greeter"].module == "greeter_mod"
    assert sources["greeter"].origin == "entry_point"
    assert sources["greeter"].distribution == "greeter-plugin 2.1.0"


def test_an_entry_point_naming_an_object_is_ignored(plugin_site: Path) -> None:
    fake_distribution(plugin_site, "odd-plugin", {"odd": "odd_mod:setup"})
    assert "odd" not in {s.name for s in entry_point_sources()}


def test_a_builtin_cog_wins_over_a_package_of_the_same_name(plugin_folder: PluginFolder, plugin_site: Path) -> None:
    plugin_folder.write("alpha", plugin_source("alpha"))
    fake_distribution(plugin_site, "impostor", {"alpha": "impostor_mod"})
    found = discover(plugin_folder.package)
    assert found["alpha"].origin == "builtin"
