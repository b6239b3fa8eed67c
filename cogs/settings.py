"""`/settings show|set|reset`: a server's Tunesmith settings, kept in storage, changed by its admins."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.interactions import reply
from bot.permissions import admin_only
from bot.plugins import PluginManifest
from engine.labels import MOODS, STYLES
from storage import DatabaseBusyError, ServerSettings, ServerSettingsError

if TYPE_CHECKING:
    from bot.client import TunesmithBot

MANIFEST = PluginManifest(
    name="settings",
    version="1.0.0",
    description="Per-server settings: default style and mood, allowed styles and channels, cooldown, admin roles. Server admins only.",
    permissions=[],
    user_data="None about users; per server: its settings and the channel and role ids it chose.",
    bot_versions=">=0.1,<1.0",
)

NOT_SAVED = "The database is busy (another program is holding it), so nothing was changed. Please try again in a minute."
EVERYTHING = ("all", "any", "every", "*")
NOTHING = ("none", "-")
_CHANNEL_MENTION = re.compile(r"^<#(\d+)>$")
_ROLE_MENTION = re.compile(r"^<@&(\d+)>$")


def parse_styles(text: str) -> list[str]:
    """'jazz, blues' -> ['jazz', 'blues']; 'all' -> [] (every style allowed). Names are checked by storage."""
    text = text.strip()
    if text.lower() in EVERYTHING:
        return []
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UserFacingError(f"List the styles separated by commas (e.g. `jazz, blues`), or `all`. Styles: {', '.join(STYLES)}.")
    return names


def parse_ids(text: str, mention: re.Pattern[str], kind: str, *, empty_words: tuple[str, ...]) -> list[int]:
    """Mentions (`<#123>`, `<@&123>`) or bare ids separated by spaces or commas; one of `empty_words` for none."""
    text = text.strip()
    if text.lower() in empty_words:
        return []
    ids = []
    for token in text.replace(",", " ").split():
        match = mention.match(token)
        digits = match.group(1) if match else token
        if not digits.isdigit():
            raise UserFacingError(f"{token!r} is not a {kind}. Mention it (type its name after # or @) or give its id.")
        ids.append(int(digits))
    if not ids:
        raise UserFacingError(f"Name at least one {kind}, or `{empty_words[0]}`.")
    return list(dict.fromkeys(ids))


def describe(settings: ServerSettings, bot_cooldown: float) -> discord.Embed:
    embed = discord.Embed(title="Tunesmith settings for this server")
    embed.add_field(name="Default style", value=settings.default_style or "none (the bot chooses)", inline=True)
    embed.add_field(name="Default mood", value=settings.default_mood or "none (the bot chooses)", inline=True)
    embed.add_field(name="Allowed styles", value=", ".join(settings.allowed_styles) or "all", inline=False)
    channels = " ".join(f"<#{c}>" for c in settings.allowed_channel_ids) or "all"
    embed.add_field(name="Channels", value=channels, inline=False)
    cooldown = f"{settings.cooldown_seconds:g} s" if settings.cooldown_seconds is not None else f"{bot_cooldown:g} s (bot default)"
    embed.add_field(name="Cooldown per user", value=cooldown, inline=True)
    roles = " ".join(f"<@&{r}>" for r in settings.admin_role_ids) or "none (members with Manage Server)"
    embed.add_field(name="Admin roles", value=roles, inline=True)
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)  # shown to server admins; /settings set admin_roles members get it via Integrations
class SettingsCog(commands.GroupCog, group_name="settings", group_description="Show or change this server's Tunesmith settings (server admins)"):
    set_group = app_commands.Group(name="set", description="Change one of this server's settings")

    def __init__(self, bot: TunesmithBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="show", description="This server's Tunesmith settings")
    @admin_only()
    async def show(self, interaction: discord.Interaction[TunesmithBot]) -> None:
        settings = await self.bot.services.storage.servers.get(_guild_id(interaction))
        await interaction.response.send_message(embed=self._describe(settings), ephemeral=True)

    @app_commands.command(name="reset", description="Forget this server's settings and go back to the defaults")
    @admin_only()
    async def reset(self, interaction: discord.Interaction[TunesmithBot]) -> None:
        guild_id = _guild_id(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a write may wait for the database
        try:
            await self.bot.services.storage.servers.reset(guild_id)
        except DatabaseBusyError:
            raise UserFacingError(NOT_SAVED) from None
        settings = await self.bot.services.storage.servers.get(guild_id)
        await reply(interaction, "Settings reset to the defaults.", embed=self._describe(settings), ephemeral=True)

    @set_group.command(name="default_style", description="The style /compose uses when none is given")
    @app_commands.describe(style="A style; leave it out to let the bot choose")
    @app_commands.choices(style=[app_commands.Choice(name=s, value=s) for s in STYLES])
    @admin_only()
    async def set_default_style(self, interaction: discord.Interaction[TunesmithBot], style: str | None = None) -> None:
        await self._update(interaction, f"Default style: {style or 'none'}.", default_style=style)

    @set_group.command(name="default_mood", description="The mood /compose uses when none is given")
    @app_commands.describe(mood="A mood; leave it out to let the bot choose")
    @app_commands.choices(mood=[app_commands.Choice(name=m, value=m) for m in MOODS])
    @admin_only()
    async def set_default_mood(self, interaction: discord.Interaction[TunesmithBot], mood: str | None = None) -> None:
        await self._update(interaction, f"Default mood: {mood or 'none'}.", default_mood=mood)

    @set_group.command(name="allowed_styles", description="Which styles members may ask for")
    @app_commands.describe(styles="Styles separated by commas (e.g. jazz, blues), or all")
    @admin_only()
    async def set_allowed_styles(self, interaction: discord.Interaction[TunesmithBot], styles: str) -> None:
        names = parse_styles(styles)
        await self._update(interaction, "Allowed styles updated.", allowed_styles=names)

    @set_group.command(name="channels", description="The channels where Tunesmith answers music commands")
    @app_commands.describe(channels="Channels or threads (type # to mention them) separated by spaces, or all")
    @admin_only()
    async def set_channels(self, interaction: discord.Interaction[TunesmithBot], channels: str) -> None:
        ids = parse_ids(channels, _CHANNEL_MENTION, "channel", empty_words=EVERYTHING)
        guild = _guild(interaction)
        unknown = [i for i in ids if not isinstance(guild.get_channel_or_thread(i), (discord.TextChannel, discord.Thread, discord.VoiceChannel))]
        if unknown:
            raise UserFacingError(f"This server has no text channel or thread with id {', '.join(map(str, unknown))}.")
        await self._update(interaction, "Channels updated.", allowed_channel_ids=ids)

    @set_group.command(name="cooldown", description="Seconds a member waits between compositions")
    @app_commands.describe(seconds="0 to 3600; leave it out for the bot's default")
    @admin_only()
    async def set_cooldown(self, interaction: discord.Interaction[TunesmithBot], seconds: app_commands.Range[float, 0, 3600] | None = None) -> None:
        await self._update(interaction, "Cooldown updated.", cooldown_seconds=seconds)

    @set_group.command(name="admin_roles", description="Roles whose members may change Tunesmith's settings and plugins here")
    @app_commands.describe(roles="Roles (type @ to mention them) separated by spaces, or none")
    @admin_only()
    async def set_admin_roles(self, interaction: discord.Interaction[TunesmithBot], roles: str) -> None:
        ids = parse_ids(roles, _ROLE_MENTION, "role", empty_words=NOTHING)
        guild = _guild(interaction)
        unknown = [i for i in ids if guild.get_role(i) is None or i == guild.id]  # @everyone would make everyone an admin
        if unknown:
            raise UserFacingError(f"This server has no role with id {', '.join(map(str, unknown))} that can be an admin role.")
        await self._update(interaction, "Admin roles updated.", admin_role_ids=ids)

    async def _update(self, interaction: discord.Interaction[TunesmithBot], done: str, **changes: Any) -> None:
        # Answer Discord first: the write may wait for another program holding the database, past the 3 s allowed.
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            settings = await self.bot.services.storage.servers.update(_guild_id(interaction), **changes)
        except ServerSettingsError as exc:
            raise UserFacingError(str(exc)) from None
        except DatabaseBusyError:
            raise UserFacingError(NOT_SAVED) from None
        await reply(interaction, done, embed=self._describe(settings), ephemeral=True)

    def _describe(self, settings: ServerSettings) -> discord.Embed:
        return describe(settings, self.bot.settings.user_cooldown_seconds)


def _guild(interaction: discord.Interaction[Any]) -> discord.Guild:
    if interaction.guild is None:  # guild_only() makes Discord refuse this already; kept for a clear message
        raise UserFacingError("This command only works in a server.")
    return interaction.guild


def _guild_id(interaction: discord.Interaction[Any]) -> int:
    return _guild(interaction).id


async def setup(bot: TunesmithBot) -> None:
    await bot.add_cog(SettingsCog(bot))
