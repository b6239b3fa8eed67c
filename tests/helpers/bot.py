"""Typed helpers for testing the bot core: isolated settings, throwaway plugin modules, a bot against the playground."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.client import TunesmithBot
from bot.config import Settings
from bot.playground import Playground
from tests.helpers.playground import StartBot


class IsolatedSettings(Settings):
    """Settings from keyword arguments only: no tunesmith.toml, no TUNESMITH_* variables, so tests are repeatable."""

    model_config = SettingsConfigDict(toml_file=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for one test: its own data folder, no owners, only the given overrides on top of the defaults."""
    overrides.setdefault("log_level", "WARNING")
    overrides.setdefault("start_engine", False)  # the core tests need no composer; music tests pass their own engine
    return IsolatedSettings(data_dir=data_dir, **overrides)


def plugin_source(
    name: str,
    *,
    version: str = "1.0.0",
    command: str | None = None,
    reply: str = "hi",
    bot_versions: str = ">=0.1,<1.0",
    permissions: tuple[str, ...] = (),
    setup_body: str = "",
) -> str:
    """The text of a plugin module: a MANIFEST and a cog with one slash command `/<command>` answering `reply`."""
    command = command or name.replace("-", "_")
    return textwrap.dedent(
        f"""
        from discord import app_commands
        from discord.ext import commands

        from bot.plugins import PluginManifest

        MANIFEST = PluginManifest(
            name={name!r},
            version={version!r},
            description="Test plugin {name}.",
            permissions={list(permissions)!r},
            user_data="None.",
            bot_versions={bot_versions!r},
        )


        class TestCog(commands.Cog):
            @app_commands.command(name={command!r}, description="Answers {reply}")
            async def answer(self, interaction):
                await interaction.response.send_message({reply!r})


        async def setup(bot):
            {setup_body or "pass"}
            await bot.add_cog(TestCog())
        """
    )


@dataclass
class PluginFolder:
    """A throwaway package of plugin modules on sys.path, standing in for `cogs/` in tests."""

    root: Path
    package: str = field(default_factory=lambda: f"tsplug_{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        (self.root / self.package).mkdir(parents=True)
        (self.root / self.package / "__init__.py").write_text("")
        sys.path.insert(0, str(self.root))

    def write(self, name: str, text: str) -> Path:
        """Write (or overwrite) the module `<package>.<name>`."""
        path = self.root / self.package / f"{name}.py"
        path.write_text(text)
        # Python trusts a .pyc whose recorded source mtime and size match, and a rewrite within the same
        # second can match both: drop the cache so the new text is always what gets imported.
        for cached in (self.root / self.package / "__pycache__").glob(f"{name}.*.pyc"):
            cached.unlink()
        return path

    def module(self, name: str) -> str:
        return f"{self.package}.{name}"

    def remove(self) -> None:
        sys.path.remove(str(self.root))
        for key in [k for k in sys.modules if k == self.package or k.startswith(self.package + ".")]:
            del sys.modules[key]


def fake_distribution(site: Path, dist_name: str, entry_points: dict[str, str], *, version: str = "1.0.0") -> Path:
    """A minimal installed distribution (a .dist-info folder) declaring `tunesmith.plugins` entry points."""
    info = site / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {module}" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[tunesmith.plugins]\n{lines}\n")
    return info


# Fixtures (registered for every test by tests/conftest.py) ----------------------------------------------


@pytest.fixture
def plugin_folder(tmp_path: Path) -> Iterator[PluginFolder]:
    folder = PluginFolder(tmp_path / "plugin_folder")
    yield folder
    folder.remove()


@pytest.fixture
def plugin_site(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path where tests put fake installed distributions and their modules."""
    site = tmp_path / "site"
    site.mkdir()
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))


class StartTunesmith(Protocol):
    def __call__(self, **settings_overrides: Any) -> Awaitable[TunesmithBot]: ...


@pytest_asyncio.fixture
async def start_tunesmith(playground: Playground, start_bot: StartBot, tmp_path: Path) -> StartTunesmith:
    """`await start_tunesmith(owner_ids=[...])`: the real bot, with its own data folder, READY against `playground`."""

    async def start(**settings_overrides: Any) -> TunesmithBot:
        settings = make_settings(tmp_path / "data", **settings_overrides)
        bot = TunesmithBot(settings, sync_guild_id=playground.guild_id, guild_ready_timeout=0.05, reidentify_delay=0)
        return await start_bot(bot)

    return start


CORE_COGS = ["plugins", "settings"]


@pytest_asyncio.fixture
async def tunesmith(start_tunesmith: StartTunesmith) -> TunesmithBot:
    """The bot with only the core cogs (plugins, settings) enabled, READY against the `playground` fixture."""
    return await start_tunesmith(enabled_cogs=CORE_COGS)


async def answer(playground: Playground, user: str, command: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run `/command` as `user` and return the bot's first message in answer (ephemeral or not)."""
    handle = await playground.run_command(user, command, options or {})
    await handle.acknowledged()
    return await handle.followup(timeout=15)


def is_ephemeral(message: dict[str, Any]) -> bool:
    return bool(message.get("flags", 0) & 64)


def embed_text(message: dict[str, Any]) -> str:
    """Everything a message says: content, embed titles, descriptions, fields and footers."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)
