"""The plugin lifecycle as an explicit API: discover, list, load, unload, reload, each with a reported outcome.

Plugins are discord.py extensions (a module with `async def setup(bot)`) that also export a `MANIFEST`.
The manager reads the manifest before loading (a plugin for another bot version is refused before any of
its code touches the bot), loads through discord.py's extension mechanism, and re-syncs the command tree
after every change. discord.py's `reload_extension` restores the previous module when the new one fails,
so a broken reload leaves the old version answering.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from types import ModuleType

from discord.ext import commands

from bot.plugins.inspection import PluginImportError, describe_exception, inspect_manifest
from bot.plugins.manifest import ManifestError, PluginManifest, manifest_of
from bot.plugins.outcome import PluginInfo, PluginOutcome, PluginStatus
from bot.plugins.sources import BUILTIN_PACKAGE, ENTRY_POINT_GROUP, PluginSource, discover
from bot.version import BOT_VERSION

log = logging.getLogger(__name__)

# The plugin that provides /plugins: unloading it would leave no way to load anything back.
CORE_PLUGINS = frozenset({"plugins"})

SyncHook = Callable[[], Awaitable[object]]  # e.g. TunesmithBot.sync_commands; its result is ignored


class PluginManager:
    def __init__(
        self,
        bot: commands.Bot,
        *,
        sync: SyncHook | None = None,
        bot_version: str = BOT_VERSION,
        builtin_package: str = BUILTIN_PACKAGE,
        entry_point_group: str = ENTRY_POINT_GROUP,
        core_plugins: Iterable[str] = CORE_PLUGINS,
    ) -> None:
        self._bot = bot
        self._sync = sync
        self.bot_version = bot_version
        self._builtin_package = builtin_package
        self._entry_point_group = entry_point_group
        self._core = frozenset(core_plugins)
        self._loaded: dict[str, PluginSource] = {}  # by plugin name; kept even if its package is uninstalled meanwhile
        self._lock = asyncio.Lock()  # one change at a time: two admins reloading at once must not interleave

    # Discovery and listing ------------------------------------------------------------------------------

    def sources(self) -> dict[str, PluginSource]:
        """Every plugin that can be loaded now, by name (built-in cogs first, then installed packages)."""
        found = discover(self._builtin_package, self._entry_point_group)
        for name, source in self._loaded.items():
            found.setdefault(name, source)
        return dict(sorted(found.items()))

    def is_loaded(self, name: str) -> bool:
        return _normalise(name) in self._loaded

    @property
    def loaded_names(self) -> list[str]:
        return sorted(self._loaded)

    def running_manifest(self, name: str) -> PluginManifest | None:
        source = self._loaded.get(_normalise(name))
        module = self._bot.extensions.get(source.module) if source else None
        return _manifest_or_none(module)

    def list_plugins(self) -> list[PluginInfo]:
        """Each plugin with its state; for one that is not loaded, the reason it could not be, if any."""
        infos = []
        for name, source in self.sources().items():
            if name in self._loaded:
                infos.append(PluginInfo(source, loaded=True, manifest=self.running_manifest(name)))
                continue
            try:
                manifest = inspect_manifest(source.module)
            except (PluginImportError, ManifestError) as exc:
                infos.append(PluginInfo(source, loaded=False, manifest=None, problem=_reason(exc)))
                continue
            problem = None if manifest.supports(self.bot_version) else self._incompatibility(manifest)
            infos.append(PluginInfo(source, loaded=False, manifest=manifest, problem=problem))
        return infos

    # Lifecycle ------------------------------------------------------------------------------------------

    async def load(self, name: str, *, sync: bool = True) -> PluginOutcome:
        async with self._lock:
            outcome = await self._load(_normalise(name))
        return await self._finish(outcome, sync)

    async def unload(self, name: str, *, sync: bool = True) -> PluginOutcome:
        async with self._lock:
            outcome = await self._unload(_normalise(name))
        return await self._finish(outcome, sync)

    async def reload(self, name: str, *, sync: bool = True) -> PluginOutcome:
        async with self._lock:
            outcome = await self._reload(_normalise(name))
        return await self._finish(outcome, sync)

    async def load_many(self, names: Iterable[str]) -> list[PluginOutcome]:
        """Load several plugins (the enabled ones at start-up) without syncing; the caller syncs once after."""
        return [await self.load(name, sync=False) for name in names]

    # Internals ------------------------------------------------------------------------------------------

    async def _load(self, name: str) -> PluginOutcome:
        if name in self._loaded:
            return PluginOutcome(name, PluginStatus.ALREADY_LOADED, manifest=self.running_manifest(name))
        source = self.sources().get(name)
        if source is None:
            return self._not_found(name)
        if source.module in self._bot.extensions:  # loaded behind the manager's back (e.g. by another extension)
            self._loaded[name] = source
            return PluginOutcome(name, PluginStatus.ALREADY_LOADED, manifest=self.running_manifest(name))
        checked = self._check(name, source)
        if isinstance(checked, PluginOutcome):
            return checked
        try:
            await self._bot.load_extension(source.module)
        except Exception as exc:
            log.warning("Plugin failed to load", extra={"plugin": name, "plugin_module": source.module}, exc_info=True)
            return PluginOutcome(name, PluginStatus.FAILED, _reason(exc), manifest=checked)
        self._loaded[name] = source
        return PluginOutcome(name, PluginStatus.LOADED, manifest=self.running_manifest(name) or checked)

    async def _unload(self, name: str) -> PluginOutcome:
        source = self._loaded.get(name)
        if source is None:
            if name in self.sources():
                return PluginOutcome(name, PluginStatus.NOT_LOADED)
            return self._not_found(name)
        if name in self._core:
            return PluginOutcome(
                name, PluginStatus.FAILED, "it manages the other plugins, so it cannot be unloaded (reload it instead).", manifest=self.running_manifest(name)
            )
        manifest = self.running_manifest(name)
        try:
            await self._bot.unload_extension(source.module)
        except Exception as exc:
            log.warning("Plugin failed to unload", extra={"plugin": name}, exc_info=True)
            return PluginOutcome(name, PluginStatus.FAILED, _reason(exc), manifest=manifest)
        finally:
            # discord.py forgets the extension even when its teardown raises, so the manager must too.
            if source.module not in self._bot.extensions:
                self._loaded.pop(name, None)
        return PluginOutcome(name, PluginStatus.UNLOADED, manifest=manifest)

    async def _reload(self, name: str) -> PluginOutcome:
        source = self._loaded.get(name)
        if source is None:
            if name in self.sources():
                return PluginOutcome(name, PluginStatus.NOT_LOADED)
            return self._not_found(name)
        previous = self.running_manifest(name)
        previous_version = previous.version if previous else None
        checked = self._check(name, source, keeping_old=True)
        if isinstance(checked, PluginOutcome):
            return checked
        try:
            await self._bot.reload_extension(source.module)
        except Exception as exc:
            # discord.py has already put the previous module back and re-run its setup().
            log.warning("Plugin failed to reload; the previous version keeps running", extra={"plugin": name}, exc_info=True)
            return PluginOutcome(name, PluginStatus.FAILED, _kept_old(_reason(exc)), manifest=previous, previous_version=previous_version)
        return PluginOutcome(name, PluginStatus.RELOADED, manifest=self.running_manifest(name) or checked, previous_version=previous_version)

    def _check(self, name: str, source: PluginSource, *, keeping_old: bool = False) -> PluginManifest | PluginOutcome:
        """The plugin's manifest if it can be loaded into this bot, else the outcome that says why not."""

        def said(reason: str) -> str:
            return _kept_old(reason) if keeping_old else reason

        try:
            manifest = inspect_manifest(source.module)
        except PluginImportError as exc:
            if exc.missing and not keeping_old:
                return self._not_found(name, f"Its module {source.module} is not installed.")
            log.warning("Plugin cannot be imported", extra={"plugin": name, "plugin_module": source.module}, exc_info=True)
            return PluginOutcome(name, PluginStatus.FAILED, said(exc.reason))
        except ManifestError as exc:
            return PluginOutcome(name, PluginStatus.FAILED, said(str(exc)))
        if not manifest.supports(self.bot_version):
            return PluginOutcome(name, PluginStatus.INCOMPATIBLE, said(self._incompatibility(manifest)), manifest=manifest)
        return manifest

    def _incompatibility(self, manifest: PluginManifest) -> str:
        return f"it supports bot versions {manifest.bot_versions}, and this bot is {self.bot_version}."

    def _not_found(self, name: str, reason: str | None = None) -> PluginOutcome:
        if reason is None:
            available = ", ".join(self.sources()) or "none"
            reason = f"Available plugins: {available}."
        return PluginOutcome(name, PluginStatus.NOT_FOUND, reason)

    async def _finish(self, outcome: PluginOutcome, sync: bool) -> PluginOutcome:
        level = logging.INFO if outcome.ok else logging.WARNING
        log.log(level, outcome.summary(), extra={"plugin": outcome.name, "status": str(outcome.status)})
        if not (sync and outcome.ok and self._sync is not None):
            return outcome
        try:
            await self._sync()
        except Exception as exc:
            log.exception("Command tree sync failed after a plugin change", extra={"plugin": outcome.name})
            return PluginOutcome(outcome.name, outcome.status, outcome.reason, outcome.manifest, outcome.previous_version, describe_exception(exc))
        return outcome


def _kept_old(reason: str) -> str:
    return reason.rstrip(". ") + ". The previous version is still running."


def _normalise(name: str) -> str:
    return name.strip().lower()


def _manifest_or_none(module: ModuleType | None) -> PluginManifest | None:
    if module is None:
        return None
    try:
        return manifest_of(module)
    except ManifestError:
        return None


def _reason(exc: BaseException) -> str:
    """Why a plugin failed, from the error that matters (discord.py wraps the plugin's own in ExtensionFailed)."""
    if isinstance(exc, PluginImportError):
        return exc.reason
    if isinstance(exc, commands.NoEntryPointError):
        return "it has no `async def setup(bot)` function."
    if isinstance(exc, commands.ExtensionFailed):
        return describe_exception(exc.original)
    if isinstance(exc, commands.ExtensionError) and exc.__cause__ is not None:
        return describe_exception(exc.__cause__)
    return describe_exception(exc)
