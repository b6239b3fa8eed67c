"""The one simulated server: its members, roles and text channels, and their Discord payloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.playground.snowflakes import SnowflakeFactory

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES
    | READ_MESSAGE_HISTORY | USE_EXTERNAL_EMOJIS | CHANGE_NICKNAME | USE_APPLICATION_COMMANDS
)
ADMIN_PERMISSIONS = MANAGE_GUILD | MANAGE_MESSAGES
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES

TEXT_CHANNEL = 0


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class PlaygroundUser:
    """A simulated member of the playground server (or the bot itself, with `bot=True`)."""

    id: int
    name: str
    admin: bool = False
    bot: bool = False
    joined_at: str = field(default_factory=iso_now)

    def user_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.name,
            "global_name": None if self.bot else self.name.capitalize(),
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": self.position > 0,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class TextChannel:
    id: int
    guild_id: int
    name: str
    position: int = 0
    topic: str | None = None
    last_message_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": TEXT_CHANNEL,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "topic": self.topic,
            "nsfw": False,
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }


class Guild:
    """The "Playground" server: @everyone, a Server Admin role (Manage Server), the bot's role, #general."""

    def __init__(self, new_id: SnowflakeFactory, bot_user: PlaygroundUser, name: str = "Playground") -> None:
        self.id = new_id()
        self.name = name
        self.owner_id = new_id()  # a non-member owner, so no simulated user gets implicit owner rights
        self.bot_user = bot_user
        self.everyone = Role(self.id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self.admin_role = Role(new_id(), "Server Admin", ADMIN_PERMISSIONS, 2)
        self.bot_role = Role(new_id(), bot_user.name, BOT_PERMISSIONS, 1, managed=True, bot_id=bot_user.id)
        self.roles = [self.everyone, self.bot_role, self.admin_role]
        general = TextChannel(new_id(), self.id, "general", topic="Try /commands here")
        self.channels: dict[int, TextChannel] = {general.id: general}
        self.default_channel = general
        self.members: dict[int, PlaygroundUser] = {bot_user.id: bot_user}

    def member_roles(self, user: PlaygroundUser) -> list[Role]:
        if user.bot:
            return [self.bot_role]
        return [self.admin_role] if user.admin else []

    def permissions_of(self, user: PlaygroundUser) -> int:
        value = self.everyone.permissions
        for role in self.member_roles(user):
            value |= role.permissions
        return value

    def member_payload(self, user: PlaygroundUser, *, with_user: bool = True, with_permissions: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "roles": [str(role.id) for role in self.member_roles(user)],
            "joined_at": user.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = user.user_payload()
        if with_permissions:
            payload["permissions"] = str(self.permissions_of(user))
        return payload

    def payload(self, *, include_all_members: bool) -> dict[str, Any]:
        """The GUILD_CREATE payload; without the GUILD_MEMBERS intent Discord only sends the bot's own member."""
        members = list(self.members.values()) if include_all_members else [self.bot_user]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": str(self.default_channel.id),
            "system_channel_flags": 0,
            "features": [],
            "roles": [role.payload() for role in self.roles],
            "emojis": [],
            "stickers": [],
            "joined_at": self.bot_user.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "members": [self.member_payload(user) for user in members],
            "channels": [channel.payload() for channel in self.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_progress_bar_enabled": False,
        }
