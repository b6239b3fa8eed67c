"""Scopes: every track, rating, job and setting belongs to one server, or to one user in their DMs with the bot.

A `Scope` is what repository queries take instead of a nullable guild id, so "no guild" can never mean
"every DM pooled together": a DM scope always names its user.

    Scope.guild(123)          # everything made on server 123
    Scope.dm(456)             # what user 456 made in their DMs with the bot, and nobody else's
    Scope.of(guild_id, user)  # from an interaction: its guild, or the user's DMs when there is none
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Scoped(Protocol):
    @property
    def guild_id(self) -> int | None: ...

    @property
    def user_id(self) -> int | None: ...


@dataclass(frozen=True)
class Scope:
    """One server (`guild_id`) or one user's DMs (`dm_user_id`); exactly one of the two is set."""

    guild_id: int | None = None
    dm_user_id: int | None = None

    def __post_init__(self) -> None:
        if (self.guild_id is None) == (self.dm_user_id is None):
            raise ValueError("A scope is one server or one user's DMs: give exactly one of guild_id and dm_user_id")

    @classmethod
    def guild(cls, guild_id: int) -> Scope:
        return cls(guild_id=int(guild_id))

    @classmethod
    def dm(cls, user_id: int) -> Scope:
        return cls(dm_user_id=int(user_id))

    @classmethod
    def of(cls, guild_id: int | None, user_id: int) -> Scope:
        """The scope of something done by `user_id` on `guild_id`, or in their DMs when `guild_id` is None."""
        return cls.dm(user_id) if guild_id is None else cls.guild(guild_id)

    @property
    def is_dm(self) -> bool:
        return self.dm_user_id is not None

    def where(self, table: str = "") -> tuple[str, tuple[Any, ...]]:
        """An SQL condition (and its parameters) matching rows with `guild_id` and `user_id` columns in this scope."""
        prefix = f"{table}." if table else ""
        if self.guild_id is not None:
            return f"{prefix}guild_id = ?", (self.guild_id,)
        return f"({prefix}guild_id IS NULL AND {prefix}user_id = ?)", (self.dm_user_id,)

    def contains(self, item: Scoped) -> bool:
        """Whether a stored thing (a track, a job) belongs to this scope."""
        if self.guild_id is not None:
            return item.guild_id == self.guild_id
        return item.guild_id is None and item.user_id is not None and item.user_id == self.dm_user_id

    def describe(self) -> str:
        """How the bot names the scope to people: 'this server' or 'your DMs'."""
        return "this server" if self.guild_id is not None else "your DMs"


def as_scope(value: Scope | int) -> Scope:
    """A Scope from a Scope or a server's id; None is refused, since it would pool every user's DMs."""
    if isinstance(value, Scope):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Expected a Scope or a guild id, got {value!r}; for DMs pass Scope.dm(user_id)")
    return Scope.guild(value)


__all__ = ["Scope", "as_scope"]
