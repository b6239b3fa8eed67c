"""`/plugins list|load|unload|reload`: server admins list the plugins; the bot's owners load, unload and reload
their code, which every server shares. Each outcome is reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.permissions import admin_only, plugin_admin_only
from bot.plugins import PluginInfo, PluginManifest, PluginOutcome, PluginStatus

if TYPE_CHECKING:
    from bot.client import TunesmithBot

MANIFEST = PluginManifest(
    name="plugins",
    version="1.0.0",
    description="Lists plugins (server admins); loads, unloads and reloads them (the bot's owners: every server shares plugin code).",
    permissions=[],
    user_data="None.",
    bot_versions=">=0.1,<1.0",
)

_ICONS = {
    PluginStatus.LOADED: "✅",
    PluginStatus.RELOADED: "✅",
    PluginStatus.UNLOADED: "✅",
    PluginStatus.FAILED: "❌",
    PluginStatus.INCOMPATIBLE: "⛔",
    PluginStatus.NOT_FOUND: "❓",
    PluginStatus.ALREADY_LOADED: "ℹ️",
    PluginStatus.NOT_LOADED: "ℹ️",
}
_EMBED_DESCRIPTION_LIMIT = 4096


def render_outcome(outcome: PluginOutcome) -> str:
    return f"{_ICONS[outcome.status]} {outcome.summary()}"


def render_plugin(info: PluginInfo, granted: discord.Permissions | None) -> str:
    """Two or three lines about one plugin: state, what it is, what it needs and stores."""
    icon = "🟢" if info.loaded else ("⚠️" if info.problem else "⚪")
    version = f" {info.manifest.version}" if info.manifest else ""
    lines = [f"{icon} **{info.name}**{version} · {info.state} · {info.source.origin_label}"]
    if info.problem:
        lines.append(f"> {info.problem}")
    if info.manifest:
        manifest = info.manifest
        lines.append(manifest.description)
        needs = ", ".join(manifest.permissions) or "nothing"
        lines.append(f"Needs: {needs} · Stores: {manifest.user_data} · Bot versions: {manifest.bot_versions}")
        missing = [p for p in manifest.permissions if granted is not None and not getattr(granted, p)]
        if missing:
            lines.append(f"⚠️ The bot lacks {', '.join(missing)} in this channel.")
    return "\n".join(lines)


def render_list(infos: list[PluginInfo], granted: discord.Permissions | None, bot_version: str) -> discord.Embed:
    blocks = [render_plugin(info, granted) for info in infos] or ["No plugins found."]
    description, shown = "", 0
    for block in blocks:
        addition = ("\n\n" if description else "") + block
        if len(description) + len(addition) > _EMBED_DESCRIPTION_LIMIT - 40:
            break
        description += addition
        shown += 1
    if shown < len(blocks):
        description += f"\n\n…and {len(blocks) - shown} more."
    loaded = sum(info.loaded for info in infos)
    embed = discord.Embed(title="Plugins", description=description)
    embed.set_footer(text=f"Tunesmith {bot_version} · {loaded} of {len(infos)} loaded")
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class PluginsCog(commands.GroupCog, group_name="plugins", group_description="List plugins (server admins); load, unload, reload them (bot owners)"):
    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Every plugin with its version, state, permissions and the user data it keeps")
    @admin_only()
    async def list_plugins(self, interaction: discord.Interaction[TunesmithBot]) -> None:
        # Listing imports the plugins that are not loaded to read their manifests: answer before Discord's 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        infos = self.bot.plugins.list_plugins()
        await interaction.followup.send(embed=render_list(infos, interaction.app_permissions, self.bot.version), ephemeral=True)

    @app_commands.command(name="load", description="Load a plugin (a built-in cog or an installed package)")
    @app_commands.describe(name="The plugin's name, as /plugins list shows it")
    @plugin_admin_only()
    async def load(self, interaction: discord.Interaction[TunesmithBot], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(render_outcome(await self.bot.plugins.load(name)), ephemeral=True)

    @app_commands.command(name="unload", description="Unload a plugin and remove its commands")
    @app_commands.describe(name="The plugin's name, as /plugins list shows it")
    @plugin_admin_only()
    async def unload(self, interaction: discord.Interaction[TunesmithBot], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(render_outcome(await self.bot.plugins.unload(name)), ephemeral=True)

    @app_commands.command(name="reload", description="Reload a plugin from its files; if the new version fails, the old one keeps running")
    @app_commands.describe(name="The plugin's name, as /plugins list shows it")
    @plugin_admin_only()
    async def reload(self, interaction: discord.Interaction[TunesmithBot], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(render_outcome(await self.bot.plugins.reload(name)), ephemeral=True)

    @load.autocomplete("name")
    async def _complete_unloaded(self, interaction: discord.Interaction[TunesmithBot], current: str) -> list[app_commands.Choice[str]]:
        names = [name for name in self.bot.plugins.sources() if not self.bot.plugins.is_loaded(name)]
        return _choices(names, current)

    @unload.autocomplete("name")
    @reload.autocomplete("name")
    async def _complete_loaded(self, interaction: discord.Interaction[TunesmithBot], current: str) -> list[app_commands.Choice[str]]:
        return _choices(self.bot.plugins.loaded_names, current)


def _choices(names: list[str], current: str) -> list[app_commands.Choice[str]]:
    current = current.strip().lower()
    matches = sorted((name for name in names if current in name), key=lambda name: (not name.startswith(current), name))
    return [app_commands.Choice(name=name, value=name) for name in matches][:25]


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(PluginsCog(bot))
