"""What the user is told for each kind of app-command error (the end-to-end cases are in test_command_tree.py)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.errors import NotServerAdmin, UserFacingError
from bot.tree import user_message


def invoke_error(original: Exception) -> app_commands.CommandInvokeError:
    command: app_commands.Command[Any, ..., None] = app_commands.Command(name="x", description="x", callback=_noop)
    return app_commands.CommandInvokeError(command, original)


async def _noop(interaction: discord.Interaction) -> None:
    pass


def test_user_facing_messages_are_passed_through() -> None:
    assert user_message(invoke_error(UserFacingError("Pick a style."))) == "Pick a style."
    assert user_message(NotServerAdmin("Only admins.")) == "Only admins."


def test_cooldowns_say_how_long_to_wait() -> None:
    error = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 10), retry_after=4.4)
    assert user_message(error) == "Slow down: you can use this command again in 4 s."


def test_other_check_failures_get_a_generic_refusal() -> None:
    assert user_message(app_commands.NoPrivateMessage()) == "This command only works in a server."
    assert user_message(app_commands.CheckFailure()) == "You are not allowed to use this command here."


def test_bugs_get_no_user_message() -> None:
    assert user_message(invoke_error(KeyError("internal"))) is None
