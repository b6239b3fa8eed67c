"""tunesmith-hello: an example Tunesmith plugin. Tunesmith loads this module as a discord.py extension."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugins import PluginManifest
from hello_plugin.cog import HelloCog

if TYPE_CHECKING:
    from bot.client import TunesmithBot

# What admins see in `/plugins list`; the bot refuses to load the plugin if its version is outside bot_versions.
MANIFEST = PluginManifest(
    name="hello",
    version="1.0.0",
    description="Says hello. An example of a third-party plugin.",
    permissions=[],  # answers interactions only, which needs no channel permission
    user_data="None.",
    bot_versions=">=0.1,<1.0",
)


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(HelloCog(bot))
