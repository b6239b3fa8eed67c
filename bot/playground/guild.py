"""Simulated servers: their members, roles, text channels, threads and permission overwrites; DM channels;
and their Discord payloads."""

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
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES
    | READ_MESSAGE_HISTORY | USE_EXTERNAL_EMOJIS | CHANGE_NICKNAME | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
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


# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
DM_CHANNEL = 1
PUBLIC_THREAD = 11
ALL_PERMISSIONS = (1 << 51) - 1
ADMINISTRATOR = 1 << 3

# Permission overwrite target types.
ROLE_OVERWRITE, MEMBER_OVERWRITE = 0, 1


@dataclass
class Overwrite:
    id: int  # a role id (the guild id for @everyone) or a user id
    type: int  # ROLE_OVERWRITE or MEMBER_OVERWRITE
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class TextChannel:
    """A guild text channel, a public thread under one (`parent_id`), or a DM with one user (`recipient`)."""

    id: int
    guild_id: int | None
    name: str
    position: int = 0
    topic: str | None = None
    last_message_id: int | None = None
    type: int = TEXT_CHANNEL
    parent_id: int | None = None
    owner_id: int | None = None  # who started a thread
    recipient: PlaygroundUser | None = None  # the other user of a DM
    overwrites: list[Overwrite] = field(default_factory=list)

    @property
    def is_dm(self) -> bool:
        return self.type == DM_CHANNEL

    @property
    def is_thread(self) -> bool:
        return self.type == PUBLIC_THREAD

    def payload(self) -> dict[str, Any]:
        last = None if self.last_message_id is None else str(self.last_message_id)
        if self.is_dm:
            assert self.recipient is not None
            return {"id": str(self.id), "type": DM_CHANNEL, "last_message_id": last, "recipients": [self.recipient.user_payload()], "flags": 0}
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "flags": 0,
        }
        if self.is_thread:
            payload.update(
                owner_id=str(self.owner_id),
                message_count=0,
                member_count=1,
                thread_metadata={"archived": False, "auto_archive_duration": 1440, "archive_timestamp": iso_now(), "locked": False},
            )
        else:
            payload.update(position=self.position, topic=self.topic, nsfw=False, permission_overwrites=[o.payload() for o in self.overwrites])
        return payload


class Guild:
    """A simulated server: @everyone, a Server Admin role (Manage Server), the bot's role, #general, its members."""

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
        self.channels: dict[int, TextChannel] = {general.id: general}  # text channels and threads
        self.default_channel = general
        self.members: dict[int, PlaygroundUser] = {bot_user.id: bot_user}
        self.admin_ids: set[int] = set()  # members holding the Server Admin role
        self.extra_roles: dict[int, list[int]] = {}  # member id -> ids of other roles they hold
        # Application command permissions (Server Settings > Integrations): command name -> target id -> allowed.
        self.command_permissions: dict[str, dict[int, bool]] = {}

    def role(self, role_id: int) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def member_roles(self, user: PlaygroundUser) -> list[Role]:
        if user.bot:
            return [self.bot_role]
        roles = [self.admin_role] if user.id in self.admin_ids else []
        roles += [r for rid in self.extra_roles.get(user.id, []) if (r := self.role(rid)) is not None]
        return roles

    def permissions_of(self, user: PlaygroundUser) -> int:
        """Guild-level permissions, as Discord computes them (the owner and Administrator get everything)."""
        if user.id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role in self.member_roles(user):
            value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def channel_permissions(self, user: PlaygroundUser, channel: TextChannel) -> int:
        """Permissions in a channel: @everyone's overwrite, then the member's roles', then the member's own
        (threads use their parent channel's). Without View Channel a member has no permission there."""
        base = self.permissions_of(user)
        if base & ADMINISTRATOR:
            return ALL_PERMISSIONS
        source = self.channels.get(channel.parent_id) if channel.is_thread and channel.parent_id else channel
        overwrites = source.overwrites if source is not None else []
        by_target = {(o.type, o.id): o for o in overwrites}
        value = base
        everyone = by_target.get((ROLE_OVERWRITE, self.id))
        if everyone is not None:
            value = (value & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role in self.member_roles(user):
            overwrite = by_target.get((ROLE_OVERWRITE, role.id))
            if overwrite is not None:
                allow |= overwrite.allow
                deny |= overwrite.deny
        value = (value & ~deny) | allow
        member = by_target.get((MEMBER_OVERWRITE, user.id))
        if member is not None:
            value = (value & ~member.deny) | member.allow
        return value if value & VIEW_CHANNEL else 0

    def can_use_command(self, user: PlaygroundUser, command: dict[str, Any]) -> bool:
        """Whether Discord shows `command` to this member: its per-guild permission overrides (user, then
        roles, then @everyone) decide first, else its `default_member_permissions`; Administrator sees all."""
        permissions = self.permissions_of(user)
        if permissions & ADMINISTRATOR:
            return True
        overrides = self.command_permissions.get(command["name"], {})
        if user.id in overrides:
            return overrides[user.id]
        role_votes = [overrides[r.id] for r in self.member_roles(user) if r.id in overrides]
        if role_votes:
            return any(role_votes)
        if self.id in overrides:
            return overrides[self.id]
        required = command.get("default_member_permissions")
        if required is None:
            return True
        required = int(required)
        return required != 0 and permissions & required == required

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

    def text_channels(self) -> list[TextChannel]:
        return [c for c in self.channels.values() if not c.is_thread]

    def threads(self) -> list[TextChannel]:
        return [c for c in self.channels.values() if c.is_thread]

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
            "channels": [channel.payload() for channel in self.text_channels()],
            "threads": [channel.payload() for channel in self.threads()],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_progress_bar_enabled": False,
        }
