"""Read a plugin's manifest before discord.py loads it, without disturbing the running copy.

The manager must know a plugin's manifest (is it compatible with this bot?) before its `setup()` adds
commands, and on reload before the running version is torn down. So the module is executed once as a
throwaway copy with its own fresh submodules, and `sys.modules` is put back exactly as it was. Plugin
modules must therefore keep import-time code free of side effects: real work belongs in `setup(bot)`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from bot.plugins.manifest import PluginManifest, manifest_of


class PluginImportError(Exception):
    """The plugin's module could not be found or raised while being imported; `reason` says why."""

    def __init__(self, module: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"{module}: {reason}")
        self.module = module
        self.reason = reason
        self.missing = missing


def describe_exception(exc: BaseException) -> str:
    """`SyntaxError: invalid syntax (hello.py, line 3)` — one line an admin can act on."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def inspect_manifest(module_name: str) -> PluginManifest:
    """Execute a fresh copy of `module_name` and return its MANIFEST; PluginImportError or ManifestError if that fails."""
    module = _execute_isolated(module_name)
    return manifest_of(module)


def _belongs_to(key: str, module_name: str) -> bool:
    return key == module_name or key.startswith(module_name + ".")


def _execute_isolated(module_name: str) -> ModuleType:
    importlib.invalidate_caches()
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError) as exc:  # a parent package that is missing or broken
        raise PluginImportError(module_name, describe_exception(exc), missing=isinstance(exc, ModuleNotFoundError)) from exc
    if spec is None or spec.loader is None:
        raise PluginImportError(module_name, "module not found", missing=True)

    saved = {key: module for key, module in sys.modules.items() if _belongs_to(key, module_name)}
    for key in saved:
        del sys.modules[key]
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # relative imports inside the package resolve against the fresh copy
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PluginImportError(module_name, describe_exception(exc)) from exc
    finally:
        for key in [key for key in sys.modules if _belongs_to(key, module_name)]:
            del sys.modules[key]
        sys.modules.update(saved)
    return module
