"""What happened when an admin asked to load, unload or reload a plugin, and what a listing shows of each plugin."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.plugins.manifest import PluginManifest
from bot.plugins.sources import PluginSource


class PluginStatus(StrEnum):
    LOADED = "loaded"
    UNLOADED = "unloaded"
    RELOADED = "reloaded"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    ALREADY_LOADED = "already_loaded"
    NOT_LOADED = "not_loaded"
    INCOMPATIBLE = "incompatible"

    @property
    def changed(self) -> bool:
        """Whether the bot's set of commands may have changed (and the command tree needs a sync)."""
        return self in (PluginStatus.LOADED, PluginStatus.UNLOADED, PluginStatus.RELOADED)


@dataclass(frozen=True)
class PluginOutcome:
    name: str
    status: PluginStatus
    reason: str = ""
    manifest: PluginManifest | None = None
    previous_version: str | None = None  # on reload: the version that was running before
    sync_error: str | None = None  # the change worked but Discord did not accept the new command list

    @property
    def ok(self) -> bool:
        return self.status.changed

    def summary(self) -> str:
        """One sentence for admins and logs, e.g. "Reloaded hello (1.0.0 → 1.1.0)."."""
        version = f" {self.manifest.version}" if self.manifest else ""
        match self.status:
            case PluginStatus.LOADED:
                text = f"Loaded {self.name}{version}."
            case PluginStatus.UNLOADED:
                text = f"Unloaded {self.name}."
            case PluginStatus.RELOADED:
                new = self.manifest.version if self.manifest else "?"
                change = f"{self.previous_version} → {new}" if self.previous_version and self.previous_version != new else new
                text = f"Reloaded {self.name} ({change})."
            case PluginStatus.FAILED:
                text = f"{self.name} failed: {self.reason}"
            case PluginStatus.NOT_FOUND:
                text = f"No plugin named {self.name!r}. {self.reason}".strip()
            case PluginStatus.ALREADY_LOADED:
                text = f"{self.name}{version} is already loaded; use reload to pick up changes."
            case PluginStatus.NOT_LOADED:
                text = f"{self.name} is not loaded."
            case PluginStatus.INCOMPATIBLE:
                text = f"{self.name}{version} is incompatible: {self.reason}"
        if self.sync_error:
            text += f" The command list could not be updated: {self.sync_error}"
        return text


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as `/plugins list` shows it."""

    source: PluginSource
    loaded: bool
    manifest: PluginManifest | None  # the running version's when loaded, else the installed one's
    problem: str | None = None  # why it cannot be loaded as it is (import error, bad manifest, incompatible)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def state(self) -> str:
        if self.loaded:
            return "loaded"
        return "unavailable" if self.problem else "not loaded"
