"""What a plugin declares about itself: who it is, what its commands need, what user data it keeps, which bots it fits.

Every plugin module (a cog in `cogs/` or a third-party package) exports one as `MANIFEST`::

    MANIFEST = PluginManifest(
        name="hello",
        version="1.0.0",
        description="Says hello.",
        permissions=["send_messages"],
        user_data="None.",
        bot_versions=">=0.1,<1.0",
    )
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import discord
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ManifestError(ValueError):
    """A manifest that is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class PluginManifest:
    name: str
    version: str
    description: str
    # Discord permissions the bot needs for this plugin's commands to work (names as in discord.Permissions).
    permissions: list[str] = field(default_factory=list)
    # What the plugin stores about users, in words shown to admins; "None." when it stores nothing.
    user_data: str = "None."
    # PEP 440 specifier the bot's version must satisfy, e.g. ">=0.1,<1.0".
    bot_versions: str = ">=0"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ManifestError(f"Plugin name {self.name!r} must be 1-32 lowercase letters, digits, '-' or '_', starting with a letter")
        try:
            Version(self.version)
        except InvalidVersion:
            raise ManifestError(f"Plugin {self.name!r}: version {self.version!r} is not a PEP 440 version") from None
        try:
            SpecifierSet(self.bot_versions)
        except InvalidSpecifier:
            raise ManifestError(f"Plugin {self.name!r}: bot_versions {self.bot_versions!r} is not a PEP 440 specifier such as '>=0.1,<1.0'") from None
        unknown = sorted(set(self.permissions) - set(discord.Permissions.VALID_FLAGS))
        if unknown:
            raise ManifestError(f"Plugin {self.name!r}: unknown Discord permissions {', '.join(unknown)}")
        if not self.description.strip():
            raise ManifestError(f"Plugin {self.name!r}: description is empty")
        # Frozen dataclass: normalise through object.__setattr__ so a caller's list can't change us later.
        object.__setattr__(self, "permissions", list(dict.fromkeys(self.permissions)))

    def supports(self, bot_version: str) -> bool:
        """Whether a bot of `bot_version` satisfies this plugin's `bot_versions` (pre-releases included)."""
        return SpecifierSet(self.bot_versions).contains(Version(bot_version), prereleases=True)


def manifest_of(module: object) -> PluginManifest:
    """The `MANIFEST` a plugin module exports; ManifestError if it has none or it is not a PluginManifest."""
    manifest = getattr(module, "MANIFEST", None)
    module_name = getattr(module, "__name__", repr(module))
    if manifest is None:
        raise ManifestError(f"Module {module_name} has no MANIFEST")
    if not isinstance(manifest, PluginManifest):
        raise ManifestError(f"{module_name}.MANIFEST is a {type(manifest).__name__}, not a PluginManifest")
    return manifest
