"""Where plugins come from: the built-in cogs in `cogs/` and packages that declare a `tunesmith.plugins` entry point.

Discovery only finds names and module paths; nothing is imported here. It runs again on every call, so a
package installed while the bot runs is found by the next `/plugins load`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tunesmith.plugins"
BUILTIN_PACKAGE = "cogs"

Origin = Literal["builtin", "entry_point"]


@dataclass(frozen=True)
class PluginSource:
    """A plugin that can be loaded: the name admins type and the module discord.py loads as an extension."""

    name: str
    module: str
    origin: Origin
    distribution: str | None = None  # "hello-plugin 1.0.0" for an installed package

    @property
    def origin_label(self) -> str:
        return "built-in" if self.origin == "builtin" else f"package {self.distribution or '?'}"


def builtin_sources(package: str = BUILTIN_PACKAGE) -> list[PluginSource]:
    """Each public module of `package` (the `cogs` folder) is a plugin named after the module."""
    importlib.invalidate_caches()  # a cog file added since the last look must be seen
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        log.warning("Built-in plugin package is missing", extra={"package": package})
        return []
    return [
        PluginSource(name=info.name, module=f"{package}.{info.name}", origin="builtin")
        for info in pkgutil.iter_modules(pkg.__path__)
        if not info.name.startswith("_")
    ]


def entry_point_sources(group: str = ENTRY_POINT_GROUP) -> list[PluginSource]:
    """Installed packages' plugins. An entry point must name a module (`hello = "hello_plugin"`), not an object."""
    importlib.invalidate_caches()  # a package installed since the last look must be seen
    sources = []
    for entry_point in importlib.metadata.entry_points(group=group):
        if entry_point.attr:
            log.warning(
                "Ignoring plugin entry point that names an object, not a module",
                extra={"entry_point": entry_point.name, "value": entry_point.value},
            )
            continue
        dist = entry_point.dist
        label = f"{dist.name} {dist.version}" if dist is not None else None
        sources.append(PluginSource(name=entry_point.name.lower(), module=entry_point.module, origin="entry_point", distribution=label))
    return sources


def discover(package: str = BUILTIN_PACKAGE, group: str = ENTRY_POINT_GROUP) -> dict[str, PluginSource]:
    """Every loadable plugin by name. A built-in cog wins over a package that claims the same name."""
    found: dict[str, PluginSource] = {}
    for source in builtin_sources(package) + entry_point_sources(group):
        existing = found.get(source.name)
        if existing is not None:
            if existing.module != source.module:
                log.warning(
                    "Two plugins share a name; keeping the first",
                    extra={"plugin": source.name, "kept": existing.module, "ignored": source.module},
                )
            continue
        found[source.name] = source
    return found
