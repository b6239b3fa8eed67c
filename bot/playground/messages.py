"""Channel messages, their attachments and reactions, kept in memory and rendered as Discord payloads."""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.playground.json_values import copy_json
from bot.playground.guild import PlaygroundUser, iso_now

EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Message types (https://discord.com/developers/docs/resources/message#message-object-message-types).
DEFAULT_MESSAGE = 0
CHAT_INPUT_COMMAND_MESSAGE = 20

# Discord guesses by extension; a few music-related types the stdlib table may lack.
mimetypes.add_type("audio/midi", ".mid")
mimetypes.add_type("audio/midi", ".midi")
mimetypes.add_type("audio/ogg", ".ogg")
mimetypes.add_type("audio/mpeg", ".mp3")
mimetypes.add_type("audio/wav", ".wav")


def guess_content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header, which Discord reports for image attachments."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None


@dataclass
class StoredAttachment:
    id: int
    channel_id: int
    filename: str
    data: bytes
    content_type: str
    description: str | None = None

    def path(self) -> str:
        return f"/cdn/attachments/{self.channel_id}/{self.id}/{quote(self.filename)}"

    def payload(self, base_url: str, *, ephemeral: bool = False) -> dict[str, Any]:
        url = base_url + self.path()
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description:
            payload["description"] = self.description
        size = png_size(self.data) if self.content_type == "image/png" else None
        if size is not None:
            payload["width"], payload["height"] = size
        if ephemeral:
            payload["ephemeral"] = True
        return payload


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    guild_id: int | None  # None in a DM
    author: PlaygroundUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = DEFAULT_MESSAGE
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    # Ephemeral messages exist only for the user who triggered them.
    visible_to: int | None = None
    # emoji key ("👍" or "name:id") -> user ids in reaction order
    reactions: dict[str, list[int]] = field(default_factory=dict)
    application_id: int | None = None
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    interaction_legacy: dict[str, Any] | None = None
    nonce: str | int | None = None
    message_reference: dict[str, Any] | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def visible_for(self, viewer_id: int | None) -> bool:
        return self.visible_to is None or self.visible_to == viewer_id

    def payload(self, base_url: str, viewer_id: int | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "channel_id": str(self.channel_id),
            "author": self.author.user_payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.payload(base_url, ephemeral=self.ephemeral) for a in self.attachments],
            "embeds": copy_json(self.embeds),
            "components": copy_json(self.components),
            "pinned": False,
            "flags": self.flags,
        }
        if not self.ephemeral and self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.reactions:
            payload["reactions"] = [reaction_payload(key, users, viewer_id) for key, users in self.reactions.items()]
        if self.application_id is not None:
            payload["application_id"] = str(self.application_id)
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = copy_json(self.interaction_metadata)
        if self.interaction_legacy is not None:
            payload["interaction"] = copy_json(self.interaction_legacy)
        if self.nonce is not None:
            payload["nonce"] = self.nonce
        if self.message_reference is not None:
            payload["message_reference"] = copy_json(self.message_reference)
        return payload


def emoji_payload(key: str) -> dict[str, Any]:
    name, _, emoji_id = key.partition(":")
    return {"id": emoji_id or None, "name": name}


def reaction_payload(key: str, users: list[int], viewer_id: int | None) -> dict[str, Any]:
    return {
        "emoji": emoji_payload(key),
        "count": len(users),
        "count_details": {"burst": 0, "normal": len(users)},
        "burst_colors": [],
        "me": viewer_id in users,
        "me_burst": False,
        "burst_me": False,
        "burst_count": 0,
    }


class MessageStore:
    """All messages of all channels, plus every attachment by id (for serving).

    Everything lives in memory, so only the newest `max_messages` are kept: a long playground
    session posting MP3s would otherwise grow without bound. Evicted messages take their
    attachments with them.
    """

    def __init__(self, max_messages: int = 2000) -> None:
        self.max_messages = max_messages
        self._messages: dict[int, StoredMessage] = {}
        self._attachments: dict[int, StoredAttachment] = {}

    def add(self, message: StoredMessage) -> StoredMessage:
        self._messages[message.id] = message
        for attachment in message.attachments:
            self.add_attachment(attachment)
        while len(self._messages) > self.max_messages:
            oldest = next(iter(self._messages.values()))
            self.remove(oldest.id)
            for attachment in oldest.attachments:
                self._attachments.pop(attachment.id, None)
        return message

    def add_attachment(self, attachment: StoredAttachment) -> None:
        self._attachments[attachment.id] = attachment

    def get(self, message_id: int) -> StoredMessage | None:
        return self._messages.get(message_id)

    def remove(self, message_id: int) -> StoredMessage | None:
        return self._messages.pop(message_id, None)

    def attachment(self, attachment_id: int) -> StoredAttachment | None:
        return self._attachments.get(attachment_id)

    def in_channel(self, channel_id: int, viewer_id: int | None) -> list[StoredMessage]:
        """Oldest first: ids are time-ordered snowflakes, and dicts keep insertion order."""
        return [m for m in self._messages.values() if m.channel_id == channel_id and m.visible_for(viewer_id)]
