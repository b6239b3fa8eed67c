"""Errors whose message is meant for the user who ran the command; the command tree shows them ephemerally."""

from __future__ import annotations

from discord import app_commands


class UserFacingError(app_commands.AppCommandError):
    """Raised inside a command for anything the user can fix (bad input, a disallowed choice); shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(app_commands.CheckFailure):
    """A check refused the command; the message says who may run it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotServerAdmin(Refused):
    pass


class NotBotOwner(Refused):
    pass


class ServerOnly(Refused):
    pass


class StartupError(RuntimeError):
    """The bot cannot start for a reason the operator can fix (the message says which setting to change)."""
