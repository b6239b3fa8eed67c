"""Plugins: built-in cogs and third-party packages, each with a manifest, loaded through discord.py extensions."""

from bot.plugins.manager import CORE_PLUGINS, PluginManager
from bot.plugins.manifest import ManifestError, PluginManifest
from bot.plugins.outcome import PluginInfo, PluginOutcome, PluginStatus
from bot.plugins.sources import ENTRY_POINT_GROUP, PluginSource

__all__ = [
    "CORE_PLUGINS",
    "ENTRY_POINT_GROUP",
    "ManifestError",
    "PluginInfo",
    "PluginManager",
    "PluginManifest",
    "PluginOutcome",
    "PluginSource",
    "PluginStatus",
]
