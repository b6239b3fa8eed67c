"""The bot's own version, the one plugins declare compatibility with (`PluginManifest.bot_versions`)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _read_version() -> str:
    try:
        return version("tunesmith")
    except PackageNotFoundError:  # a source tree that was never installed: read the version it declares
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


BOT_VERSION: str = _read_version()
