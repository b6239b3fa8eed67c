"""Per-server settings: default style and mood, allowed styles and channels, cooldown, admin roles."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from engine.labels import normalise_mood, normalise_style
from storage import codec
from storage.database import Database, utc_now

_UNSET: Any = object()


@dataclass(frozen=True)
class ServerSettings:
    """A server's settings. Empty allow-lists mean "everything is allowed"; a None cooldown means the bot's default."""

    guild_id: int
    default_style: str | None = None
    default_mood: str | None = None
    allowed_styles: tuple[str, ...] = ()
    allowed_channel_ids: tuple[int, ...] = ()
    cooldown_seconds: float | None = None
    admin_role_ids: tuple[int, ...] = ()

    def allows_style(self, style: str) -> bool:
        return not self.allowed_styles or style in self.allowed_styles

    def allows_channel(self, channel_id: int) -> bool:
        return not self.allowed_channel_ids or channel_id in self.allowed_channel_ids


def _from_row(row: sqlite3.Row) -> ServerSettings:
    return ServerSettings(
        guild_id=row["guild_id"],
        default_style=row["default_style"],
        default_mood=row["default_mood"],
        allowed_styles=tuple(codec.loads(row["allowed_styles"], [])),
        allowed_channel_ids=tuple(codec.loads(row["allowed_channel_ids"], [])),
        cooldown_seconds=row["cooldown_seconds"],
        admin_role_ids=tuple(codec.loads(row["admin_role_ids"], [])),
    )


class ServerSettingsError(ValueError):
    """Settings an admin asked for that cannot be stored; the message says why and is shown to them."""


class ServerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, guild_id: int) -> ServerSettings:
        """The server's settings, or the defaults when it has never changed any."""
        row = await self._db.fetchone("SELECT * FROM servers WHERE guild_id = ?", (guild_id,))
        return _from_row(row) if row else ServerSettings(guild_id=guild_id)

    async def update(
        self,
        guild_id: int,
        *,
        default_style: str | None = _UNSET,
        default_mood: str | None = _UNSET,
        allowed_styles: Iterable[str] = _UNSET,
        allowed_channel_ids: Iterable[int] = _UNSET,
        cooldown_seconds: float | None = _UNSET,
        admin_role_ids: Iterable[int] = _UNSET,
    ) -> ServerSettings:
        """Change the named settings (others keep their values) and return the result.

        Style and mood names are made canonical ("bossa" -> "latin"); pass None to clear a default.
        Raises ServerSettingsError with a message for the admin when a value is invalid.
        """
        changes: dict[str, Any] = {}
        try:
            if default_style is not _UNSET:
                changes["default_style"] = None if default_style is None else normalise_style(default_style)
            if default_mood is not _UNSET:
                changes["default_mood"] = None if default_mood is None else normalise_mood(default_mood)
            if allowed_styles is not _UNSET:
                changes["allowed_styles"] = tuple(dict.fromkeys(normalise_style(s) for s in allowed_styles))
        except ValueError as exc:
            raise ServerSettingsError(str(exc)) from None
        if allowed_channel_ids is not _UNSET:
            changes["allowed_channel_ids"] = tuple(dict.fromkeys(int(c) for c in allowed_channel_ids))
        if admin_role_ids is not _UNSET:
            changes["admin_role_ids"] = tuple(dict.fromkeys(int(r) for r in admin_role_ids))
        if cooldown_seconds is not _UNSET:
            if cooldown_seconds is not None and not 0 <= cooldown_seconds <= 3600:
                raise ServerSettingsError(f"Cooldown must be between 0 and 3600 seconds, not {cooldown_seconds:g}.")
            changes["cooldown_seconds"] = None if cooldown_seconds is None else float(cooldown_seconds)

        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM servers WHERE guild_id = ?", (guild_id,))
            settings = replace(_from_row(row) if row else ServerSettings(guild_id=guild_id), **changes)
            if settings.default_style and not settings.allows_style(settings.default_style):
                raise ServerSettingsError(
                    f"The default style {settings.default_style!r} is not among the allowed styles ({', '.join(settings.allowed_styles)})."
                )
            await tx.execute(
                """
                INSERT INTO servers (guild_id, default_style, default_mood, allowed_styles, allowed_channel_ids,
                                     cooldown_seconds, admin_role_ids, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (guild_id) DO UPDATE SET
                    default_style = excluded.default_style, default_mood = excluded.default_mood,
                    allowed_styles = excluded.allowed_styles, allowed_channel_ids = excluded.allowed_channel_ids,
                    cooldown_seconds = excluded.cooldown_seconds, admin_role_ids = excluded.admin_role_ids,
                    updated_at = excluded.updated_at
                """,
                (
                    guild_id,
                    settings.default_style,
                    settings.default_mood,
                    codec.dumps(list(settings.allowed_styles)),
                    codec.dumps(list(settings.allowed_channel_ids)),
                    settings.cooldown_seconds,
                    codec.dumps(list(settings.admin_role_ids)),
                    utc_now(),
                ),
            )
        return settings

    async def reset(self, guild_id: int) -> None:
        """Forget the server's settings; it goes back to the defaults."""
        await self._db.execute("DELETE FROM servers WHERE guild_id = ?", (guild_id,))


__all__ = ["ServerSettings", "ServerSettingsError", "ServerRepository"]
