"""The playground's world: guilds, DMs, users, messages and commands, and the operations that change them.

Every change is recorded in the event log and, when the bot would see it on Discord, dispatched
over the gateway. REST routes, interactions and the Python API all go through these operations.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.playground import events as ev
from bot.playground.bodies import UploadedFile
from bot.playground.commands import CommandRegistry
from bot.playground.errors import APIError, FormErrors, PlaygroundError, unknown_channel, unknown_emoji, unknown_message
from bot.playground.gateway import (
    CLOSE_INVALID_SHARD,
    CLOSE_SHARDING_REQUIRED,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    Gateway,
    GatewaySession,
)
from bot.playground.guild import (
    ADD_REACTIONS,
    ATTACH_FILES,
    DM_CHANNEL,
    EMBED_LINKS,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Guild,
    PlaygroundUser,
    TextChannel,
    iso_now,
)
from bot.playground.messages import LOADING, MessageStore, StoredAttachment, StoredMessage, guess_content_type
from bot.playground.snowflakes import SnowflakeFactory
from bot.playground.validation import validate_message

DEFAULT_USERS = (("alice", True), ("bob", False), ("carol", False))
# Discord closes a session with 4011 when one shard would hold more guilds than this.
MAX_GUILDS_PER_SHARD = 2500


def missing_permissions() -> APIError:
    return APIError(403, 50013, "Missing Permissions")


def missing_access() -> APIError:
    return APIError(403, 50001, "Missing Access")


@dataclass(frozen=True)
class Limits:
    upload_limit: int
    ack_deadline: float
    followup_window: float


class PlaygroundState:
    def __init__(
        self,
        *,
        limits: Limits,
        heartbeat_interval: float,
        resume_window: float,
        bot_name: str = "Tunesmith",
        max_messages: int = 2000,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
    ) -> None:
        self.limits = limits
        self.new_id = SnowflakeFactory()
        self.base_url = ""
        self.bot_token = f"playground.{secrets.token_urlsafe(24)}"
        self.application_id = self.new_id()
        self.bot_user = PlaygroundUser(id=self.application_id, name=bot_name, bot=True)
        self.guild = Guild(self.new_id, self.bot_user)  # the first guild: the default for the Python API
        self.guilds: dict[int, Guild] = {self.guild.id: self.guild}
        self.dm_channels: dict[int, TextChannel] = {}  # by the user's id
        self.max_guilds_per_shard = max_guilds_per_shard
        self.users: list[PlaygroundUser] = []
        self.events = ev.EventLog()
        self.messages = MessageStore(max_messages)
        self.commands = CommandRegistry(self.application_id, self.new_id)
        self.gateway = Gateway(
            token=lambda: self.bot_token,
            log_=self.events,
            identify_payloads=self._identify_payloads,
            members_chunk=self._members_chunk,
            heartbeat_interval=heartbeat_interval,
            resume_window=resume_window,
            identify_guard=self._identify_guard,
        )
        for name, admin in DEFAULT_USERS:
            self.add_user(name, admin=admin)

    # --- people and places -------------------------------------------------------------------

    def add_user(self, name: str, *, admin: bool = False, guilds: Sequence[Guild] | None = None) -> PlaygroundUser:
        """A new user, a member of `guilds` (by default the first guild), Server Admin there with `admin`."""
        if any(u.name == name for u in self.users):
            raise PlaygroundError(f"a user named {name!r} already exists")
        user = PlaygroundUser(id=self.new_id(), name=name, admin=admin)
        self.users.append(user)
        for guild in [self.guild] if guilds is None else guilds:
            self.add_member(guild, user, admin=admin)
        self.events.record(ev.MEMBER_ADD, user=user.user_payload())
        return user

    def add_member(self, guild: Guild, user: PlaygroundUser, *, admin: bool = False) -> None:
        """`user` joins `guild` (GUILD_MEMBER_ADD), holding its Server Admin role with `admin`."""
        if user.id in guild.members:
            raise PlaygroundError(f"{user.name} is already a member of {guild.name}")
        guild.members[user.id] = user
        if admin:
            guild.admin_ids.add(user.id)
        self.gateway.dispatch("GUILD_MEMBER_ADD", {**guild.member_payload(user), "guild_id": str(guild.id)}, guild_id=guild.id)

    def add_guild(self, name: str) -> Guild:
        """A new guild the bot is in, with its own roles and #general; the bot gets its GUILD_CREATE."""
        if any(g.name == name for g in self.guilds.values()):
            raise PlaygroundError(f"a guild named {name!r} already exists")
        guild = Guild(self.new_id, self.bot_user, name)
        self.guilds[guild.id] = guild
        session = self.gateway.current
        if session is not None:
            self.gateway.dispatch("GUILD_CREATE", guild.payload(include_all_members=bool(session.intents & INTENT_GUILD_MEMBERS)), guild_id=guild.id)
        self.events.record(ev.GUILD_CREATE, guild_id=str(guild.id), name=name)
        return guild

    def find_guild(self, ref: Guild | int | str) -> Guild:
        """A guild by object, id or name."""
        if isinstance(ref, Guild):
            return ref
        for guild in self.guilds.values():
            if guild.id == ref or guild.name == ref or str(guild.id) == str(ref):
                return guild
        names = ", ".join(g.name for g in self.guilds.values())
        raise PlaygroundError(f"unknown guild {ref!r}; the playground's guilds are: {names}")

    def add_channel(self, guild: Guild, name: str, topic: str | None = None) -> TextChannel:
        """Another text channel in a guild (CHANNEL_CREATE)."""
        if any(c.name == name and not c.is_thread for c in guild.channels.values()):
            raise PlaygroundError(f"{guild.name} already has a #{name}")
        channel = TextChannel(self.new_id(), guild.id, name, position=len(guild.text_channels()), topic=topic)
        guild.channels[channel.id] = channel
        self.gateway.dispatch("CHANNEL_CREATE", channel.payload(), guild_id=guild.id)
        return channel

    def add_thread(self, parent: TextChannel, name: str, owner: PlaygroundUser) -> TextChannel:
        """A public thread under a text channel (THREAD_CREATE)."""
        guild = self.guild_of(parent)
        if guild is None or parent.type != 0:
            raise PlaygroundError("threads can only be started in a server's text channel")
        thread = TextChannel(self.new_id(), guild.id, name, type=PUBLIC_THREAD, parent_id=parent.id, owner_id=owner.id)
        guild.channels[thread.id] = thread
        self.gateway.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True}, guild_id=guild.id)
        self.events.record(ev.THREAD_CREATE, channel_id=str(thread.id), parent_id=str(parent.id), name=name)
        return thread

    def dm_channel(self, user: PlaygroundUser) -> TextChannel:
        """The DM channel between the bot and `user` (made on first use, as Discord does)."""
        if user.bot:
            raise PlaygroundError("the bot has no DM channel with itself")
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = TextChannel(self.new_id(), None, user.name, type=DM_CHANNEL, recipient=user)
            self.dm_channels[user.id] = channel
        return channel

    def user(self, ref: PlaygroundUser | int | str) -> PlaygroundUser:
        """A user by object, id or name; the bot counts."""
        if isinstance(ref, PlaygroundUser):
            return ref
        for user in [*self.users, self.bot_user]:
            if user.id == ref or user.name == ref or str(user.id) == str(ref):
                return user
        names = ", ".join(u.name for u in self.users)
        raise PlaygroundError(f"unknown user {ref!r}; the playground's users are: {names}")

    def channel(self, channel_id: int | str) -> TextChannel:
        try:
            wanted = int(channel_id)
        except ValueError:
            raise unknown_channel() from None
        for guild in self.guilds.values():
            if wanted in guild.channels:
                return guild.channels[wanted]
        for channel in self.dm_channels.values():
            if channel.id == wanted:
                return channel
        raise unknown_channel()

    def guild_of(self, channel: TextChannel) -> Guild | None:
        return None if channel.guild_id is None else self.guilds[channel.guild_id]

    def permissions_in(self, user: PlaygroundUser, channel: TextChannel) -> int:
        """What `user` may do in `channel`: overwrites applied in a guild; in a DM, its two users may do the usual."""
        guild = self.guild_of(channel)
        if guild is None:
            if channel.recipient is not None and user.id in (channel.recipient.id, self.bot_user.id):
                return VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
            return 0
        if user.id not in guild.members:
            return 0
        return guild.channel_permissions(user, channel)

    def can_see(self, user: PlaygroundUser, channel: TextChannel) -> bool:
        return bool(self.permissions_in(user, channel) & VIEW_CHANNEL)

    def require_bot_permissions(self, channel: TextChannel, needed: int) -> None:
        """Discord's answer when the bot acts in a channel without a permission: 50001 without View Channel,
        else 50013 Missing Permissions."""
        have = self.permissions_in(self.bot_user, channel)
        if not have & VIEW_CHANNEL:
            raise missing_access()
        if have & needed != needed:
            raise missing_permissions()

    def send_permission(self, channel: TextChannel) -> int:
        return SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES

    def message(self, channel: TextChannel, message_id: int | str) -> StoredMessage:
        try:
            message = self.messages.get(int(message_id))
        except ValueError:
            message = None
        # Ephemeral messages are not reachable through channel endpoints, as on Discord.
        if message is None or message.channel_id != channel.id or message.visible_to is not None:
            raise unknown_message()
        return message

    # --- rendering ----------------------------------------------------------------------------

    def render(self, message: StoredMessage, viewer: PlaygroundUser | None) -> dict[str, Any]:
        return message.payload(self.base_url, None if viewer is None else viewer.id)

    def gateway_message(self, message: StoredMessage) -> dict[str, Any]:
        payload = self.render(message, self.bot_user)
        guild = None if message.guild_id is None else self.guilds[message.guild_id]
        if guild is not None and not message.author.bot and message.author.id in guild.members:
            payload["member"] = guild.member_payload(message.author, with_user=False)
        return payload

    def dispatch_in(self, channel: TextChannel, event: str, data: dict[str, Any], **kwargs: Any) -> None:
        """Dispatch a channel's event the way Discord filters it: only if the bot can see the channel, and for
        DMs only with the DIRECT_* intent that matches the event."""
        if not self.can_see(self.bot_user, channel):
            return
        if channel.is_dm:
            kwargs["intent"] = INTENT_DIRECT_MESSAGE_REACTIONS if event.startswith("MESSAGE_REACTION") else INTENT_DIRECT_MESSAGES
        else:
            kwargs["guild_id"] = channel.guild_id
        self.gateway.dispatch(event, data, **kwargs)

    def _strip_content(self, data: dict[str, Any]) -> dict[str, Any]:
        """Without the MESSAGE_CONTENT intent Discord blanks other people's message content."""
        if data.get("author", {}).get("id") == str(self.bot_user.id):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    # --- messages -----------------------------------------------------------------------------

    def build_attachments(self, channel_id: int, payload: dict[str, Any], files: Sequence[UploadedFile], existing: list[StoredAttachment]) -> list[StoredAttachment] | None:
        """Apply a message payload's `attachments` array and uploaded `files[n]`; None means unchanged."""
        metadata = payload.get("attachments")
        if metadata is None and not files:
            return None
        by_index = {f.index: f for f in files}
        kept = {a.id: a for a in existing}
        result: list[StoredAttachment] = []
        used: set[int] = set()
        errors = FormErrors()
        for position, item in enumerate(metadata or []):
            if not isinstance(item, dict) or "id" not in item:
                errors.add(("attachments", position, "id"), "BASE_TYPE_REQUIRED", "This field is required")
                continue
            try:
                ref = int(item["id"])
            except (TypeError, ValueError):
                errors.add(("attachments", position, "id"), "NUMBER_TYPE_COERCE", f"Value \"{item['id']}\" is not snowflake.")
                continue
            if ref in kept:
                result.append(kept[ref])
            elif ref in by_index:
                upload = by_index[ref]
                used.add(ref)
                result.append(self.new_attachment(channel_id, item.get("filename") or upload.filename, upload.data, item.get("description")))
            else:
                errors.add(("attachments", position, "id"), "ATTACHMENT_NOT_FOUND", "Unknown attachment; upload it as files[n] or keep an existing id.")
        errors.raise_if_any()
        if metadata is None:
            result = list(existing)
        result.extend(self.new_attachment(channel_id, f.filename, f.data, None) for f in files if f.index not in used)
        return result

    def new_attachment(self, channel_id: int, filename: str, data: bytes, description: str | None) -> StoredAttachment:
        attachment = StoredAttachment(self.new_id(), channel_id, filename, data, guess_content_type(filename), description)
        self.messages.add_attachment(attachment)
        return attachment

    def create_message(
        self,
        channel: TextChannel,
        author: PlaygroundUser,
        payload: dict[str, Any],
        files: Sequence[UploadedFile] = (),
        *,
        visible_to: PlaygroundUser | None = None,
        require_body: bool = True,
        **extra: Any,
    ) -> StoredMessage:
        files = list(files)
        validate_message(payload, require_body=require_body, has_files=bool(files))
        message = StoredMessage(
            id=self.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            attachments=self.build_attachments(channel.id, payload, files, []) or [],
            flags=(payload.get("flags") or 0) | extra.pop("flags", 0),
            visible_to=None if visible_to is None else visible_to.id,
            nonce=payload.get("nonce"),
            message_reference=extra.pop("message_reference", None) or payload.get("message_reference"),
            **extra,
        )
        self.messages.add(message)
        if visible_to is None:
            channel.last_message_id = message.id
            self.dispatch_in(channel, "MESSAGE_CREATE", self.gateway_message(message), strip_content=self._strip_content)
        self.events.record(ev.MESSAGE_CREATE, message=self.render(message, visible_to or author), ephemeral=visible_to is not None)
        return message

    def edit_message(self, message: StoredMessage, payload: dict[str, Any], files: Sequence[UploadedFile] = ()) -> StoredMessage:
        files = list(files)
        validate_message(payload, require_body=False, has_files=bool(files))
        if "content" in payload:
            message.content = payload["content"] or ""
        if "embeds" in payload:
            message.embeds = payload["embeds"] or []
        if "components" in payload:
            message.components = payload["components"] or []
        if "flags" in payload and payload["flags"] is not None:
            # Only suppress-embeds may change after sending; ephemeral and loading stay as they were.
            message.flags = (message.flags & ~(1 << 2)) | (payload["flags"] & (1 << 2))
        attachments = self.build_attachments(message.channel_id, payload, files, message.attachments)
        if attachments is not None:
            message.attachments = attachments
        message.flags &= ~LOADING
        message.edited_timestamp = iso_now()
        self._announce_update(message)
        return message

    def _announce_update(self, message: StoredMessage) -> None:
        if message.visible_to is None:
            self.dispatch_in(self.channel(message.channel_id), "MESSAGE_UPDATE", self.gateway_message(message), strip_content=self._strip_content)
        viewer = None if message.visible_to is None else self.user(message.visible_to)
        self.events.record(ev.MESSAGE_UPDATE, message=self.render(message, viewer), ephemeral=message.visible_to is not None)

    def delete_message(self, message: StoredMessage) -> None:
        self.messages.remove(message.id)
        if message.visible_to is None:
            data = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self.dispatch_in(self.channel(message.channel_id), "MESSAGE_DELETE", data)
        self.events.record(ev.MESSAGE_DELETE, message_id=str(message.id), channel_id=str(message.channel_id))

    # --- reactions ----------------------------------------------------------------------------

    @staticmethod
    def emoji_key(raw: str) -> str:
        """A Unicode emoji ('👍') is its own key. Custom 'name:id' emoji must exist in the guild and the
        playground has none; plain ASCII text ('thumbsup') is not an emoji either."""
        raw = raw.strip()
        if not raw or ":" in raw or raw.isascii():
            raise unknown_emoji()
        return raw

    def add_reaction(self, message: StoredMessage, user: PlaygroundUser, emoji: str) -> bool:
        key = self.emoji_key(emoji)
        users = message.reactions.setdefault(key, [])
        if user.id in users:
            return False
        users.append(user.id)
        data = self._reaction_event(message, user, key)
        if message.guild_id is not None:
            data["member"] = self.guilds[message.guild_id].member_payload(user)
        data["message_author_id"] = str(message.author.id)
        self.dispatch_in(self.channel(message.channel_id), "MESSAGE_REACTION_ADD", data)
        self.events.record(ev.REACTION_ADD, message_id=str(message.id), user_id=str(user.id), emoji=key)
        self._announce_reactions(message)
        return True

    def remove_reaction(self, message: StoredMessage, user: PlaygroundUser, emoji: str) -> bool:
        key = self.emoji_key(emoji)
        users = message.reactions.get(key, [])
        if user.id not in users:
            return False
        users.remove(user.id)
        if not users:
            del message.reactions[key]
        self.dispatch_in(self.channel(message.channel_id), "MESSAGE_REACTION_REMOVE", self._reaction_event(message, user, key))
        self.events.record(ev.REACTION_REMOVE, message_id=str(message.id), user_id=str(user.id), emoji=key)
        self._announce_reactions(message)
        return True

    def _reaction_event(self, message: StoredMessage, user: PlaygroundUser, key: str) -> dict[str, Any]:
        name, _, emoji_id = key.partition(":")
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": emoji_id or None, "name": name},
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        return data

    def _announce_reactions(self, message: StoredMessage) -> None:
        # Reactions are not a MESSAGE_UPDATE on Discord; this event only refreshes the web page.
        self.events.record("reactions_changed", message_id=str(message.id))

    # --- gateway callbacks --------------------------------------------------------------------

    def shard_guilds(self, session: GatewaySession) -> list[Guild]:
        return [g for g in self.guilds.values() if session.handles_guild(g.id)]

    def _identify_guard(self, session: GatewaySession) -> tuple[int, str] | None:
        shard = session.shard
        if shard is not None:
            if not (isinstance(shard, list) and len(shard) == 2 and all(isinstance(n, int) for n in shard) and 0 <= shard[0] < shard[1]):
                return CLOSE_INVALID_SHARD, "Invalid shard."
        if len(self.shard_guilds(session)) > self.max_guilds_per_shard:
            return CLOSE_SHARDING_REQUIRED, "Sharding required."
        return None

    def _identify_payloads(self, session: GatewaySession) -> list[tuple[str, dict[str, Any]]]:
        guilds = self.shard_guilds(session)
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot_user.user_payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.base_url.replace("http", "ws", 1) + "/gateway",
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["playground"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        members = bool(session.intents & INTENT_GUILD_MEMBERS)
        return [("READY", ready), *(("GUILD_CREATE", g.payload(include_all_members=members)) for g in guilds)]

    def _members_chunk(self, session: GatewaySession, request: dict[str, Any]) -> dict[str, Any]:
        wanted = {str(i) for i in request.get("user_ids") or []}
        prefix = request.get("query") or ""
        try:
            guild = self.guilds[int(request.get("guild_id") or self.guild.id)]
        except (KeyError, TypeError, ValueError):
            guild = self.guild
        members = [
            guild.member_payload(user)
            for user in guild.members.values()
            if (not wanted or str(user.id) in wanted) and user.name.startswith(prefix)
        ]
        limit = request.get("limit") or 0
        chunk: dict[str, Any] = {"guild_id": str(guild.id), "members": members[:limit] if limit else members, "chunk_index": 0, "chunk_count": 1}
        if request.get("nonce") is not None:
            chunk["nonce"] = request["nonce"]
        return chunk
