"""Who may do what: bot owners (from settings) everywhere, and per server its admins.

A server admin is a member with the configured permission (Manage Server by default) or Administrator, the
server's owner, or a member with one of the admin roles the server set with `/settings set admin_roles`.
Bot owners count as admins on every server. What every server shares (plugin code, the base model) only
the owners change: a server's admins change their own server and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.config import Settings
from bot.errors import NotBotOwner, NotServerAdmin, ServerOnly
from storage import ServerSettings

if TYPE_CHECKING:
    from bot.client import TunesmithBot

T = TypeVar("T")


class AccessPolicy:
    def __init__(self, settings: Settings) -> None:
        if settings.admin_permission not in discord.Permissions.VALID_FLAGS:
            raise ValueError(f"admin_permission {settings.admin_permission!r} is not a Discord permission name (e.g. 'manage_guild')")
        if not settings.plugins_owner_only:
            raise ValueError(
                "plugins_owner_only = false is no longer supported: plugin code is shared by every server the bot is in, "
                "so only owner_ids may load, unload or reload it. Remove the setting."
            )
        self.owner_ids = frozenset(settings.owner_ids)
        self.admin_permission = settings.admin_permission

    @property
    def admin_permission_label(self) -> str:
        """'Manage Server' for 'manage_guild': the name Discord's own UI uses."""
        return {"manage_guild": "Manage Server"}.get(self.admin_permission, self.admin_permission.replace("_", " ").title())

    def is_owner(self, user: discord.abc.Snowflake) -> bool:
        return user.id in self.owner_ids

    def is_server_admin(self, member: discord.Member, server_settings: ServerSettings) -> bool:
        if self.is_owner(member) or member.guild.owner_id == member.id:
            return True
        # From an interaction, Discord sends the member's resolved permissions; otherwise compute them from roles.
        resolved = member.resolved_permissions
        permissions = resolved if resolved is not None else member.guild_permissions
        if permissions.administrator or getattr(permissions, self.admin_permission):
            return True
        return any(role.id in server_settings.admin_role_ids for role in member.roles)


def _bot(interaction: discord.Interaction[Any]) -> TunesmithBot:
    return interaction.client  # type: ignore[return-value]


async def ensure_server_admin(interaction: discord.Interaction[Any]) -> bool:
    """The check behind `admin_only()`: True, or raises a Refused error whose message the user sees."""
    bot = _bot(interaction)
    if bot.access.is_owner(interaction.user):
        return True
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise ServerOnly("This command only works in a server.")
    server_settings = await bot.services.storage.servers.get(interaction.guild.id)
    if bot.access.is_server_admin(interaction.user, server_settings):
        return True
    raise NotServerAdmin(
        f"Only server admins can use this command: members with the {bot.access.admin_permission_label} permission or one of this server's admin roles."
    )


async def ensure_owner(interaction: discord.Interaction[Any]) -> bool:
    if _bot(interaction).access.is_owner(interaction.user):
        return True
    raise NotBotOwner("Only the bot's owners can use this command.")


async def ensure_plugin_admin(interaction: discord.Interaction[Any]) -> bool:
    """Plugin code is shared by every server the bot is in: only its owners load, unload or reload it."""
    if _bot(interaction).access.is_owner(interaction.user):
        return True
    raise NotBotOwner("Only the bot's owners can load, unload or reload plugins: plugin code is shared by every server Tunesmith is in.")


async def ensure_global_change(interaction: discord.Interaction[Any]) -> bool:
    """For anything every server shares (the base model, plugin code): only the bot's owners."""
    if _bot(interaction).access.is_owner(interaction.user):
        return True
    raise NotBotOwner("Only the bot's owners can change this: it is shared by every server Tunesmith is in.")


def admin_only() -> Callable[[T], T]:
    """Decorator for app commands that only server admins (and bot owners) may run."""
    return app_commands.check(ensure_server_admin)


def owner_only() -> Callable[[T], T]:
    """Decorator for app commands that only the bot's owners may run."""
    return app_commands.check(ensure_owner)


def plugin_admin_only() -> Callable[[T], T]:
    """Decorator for commands that change plugin code (load, unload, reload): the bot's owners only."""
    return app_commands.check(ensure_plugin_admin)


def global_change_only() -> Callable[[T], T]:
    """Decorator for commands that change what every server shares (e.g. rolling back the base model): owners only."""
    return app_commands.check(ensure_global_change)
