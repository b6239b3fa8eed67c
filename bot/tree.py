"""The command tree: every app-command error ends in one clear, ephemeral message to the user."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.errors import Refused, UserFacingError
from bot.interactions import reply
from storage import DatabaseBusyError

log = logging.getLogger(__name__)

UNEXPECTED_ERROR = "Something went wrong on our side and it has been logged. Please try again later."
RESTARTING = "Tunesmith is restarting. Please try again in a minute."


def user_message(error: app_commands.AppCommandError) -> str | None:
    """What to tell the user about `error`, or None for a bug they cannot do anything about."""
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, UserFacingError):
        return error.original.message
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, DatabaseBusyError):
        return str(error.original)
    if isinstance(error, (UserFacingError, Refused)):
        return error.message
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: you can use this command again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, (app_commands.MissingPermissions, app_commands.BotMissingPermissions)):
        return str(error)
    if isinstance(error, app_commands.TransformerError):
        return f"That value is not valid: {error.value!r}."
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command here."
    return None


class TunesmithTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # While the bot shuts down it finishes the work it has and takes no more.
        if getattr(interaction.client, "shutting_down", False):
            if interaction.type is discord.InteractionType.application_command:
                await reply(interaction, RESTARTING, ephemeral=True)
            return False
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /) -> None:
        message = user_message(error)
        command = interaction.command.qualified_name if interaction.command else None
        if message is None:
            original = getattr(error, "original", error)
            log.error("Command failed", extra={"command": command, "user": interaction.user.id}, exc_info=original)
            message = UNEXPECTED_ERROR
        else:
            log.info("Command refused", extra={"command": command, "user": interaction.user.id, "reason": message})
        try:
            await reply(interaction, message, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not tell the user about an error", extra={"command": command}, exc_info=True)
