"""Messages from the playground as a small typed class, instead of the raw Discord-shaped dicts.

    message = await answer_message(playground, "alice", "retrain status")
    assert message.ephemeral and "interrupted" in message.content
    await playground.click("bob", message.id, message.custom_ids[0])   # the playground takes a message id

`PlaygroundMessage.of(data)` wraps any message dict (a follow-up, an event's message, playground.messages()).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.playground import InteractionHandle, Playground

EPHEMERAL = 64


@dataclass(frozen=True)
class EmbedField:
    name: str
    value: str


@dataclass(frozen=True)
class Embed:
    title: str
    description: str
    fields: tuple[EmbedField, ...]
    footer: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Embed:
        fields = tuple(EmbedField(str(f.get("name", "")), str(f.get("value", ""))) for f in data.get("fields", []))
        return cls(str(data.get("title") or ""), str(data.get("description") or ""), fields, str((data.get("footer") or {}).get("text") or ""))

    @property
    def text(self) -> str:
        parts = [self.title, self.description, *(f"{f.name}: {f.value}" for f in self.fields), self.footer]
        return "\n".join(p for p in parts if p)

    def field(self, name: str) -> str:
        for item in self.fields:
            if item.name == name:
                return item.value
        raise AssertionError(f"no field {name!r} in {[f.name for f in self.fields]}")


@dataclass(frozen=True)
class Attachment:
    filename: str
    url: str
    size: int
    raw: Mapping[str, Any]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Attachment:
        return cls(str(data.get("filename", "")), str(data.get("url", "")), int(data.get("size", 0)), data)


@dataclass(frozen=True)
class Component:
    """A button or a select menu (action rows are flattened away)."""

    type: int
    custom_id: str
    label: str

    @classmethod
    def flatten(cls, rows: list[Mapping[str, Any]]) -> tuple[Component, ...]:
        def walk(items: list[Mapping[str, Any]]) -> Iterator[Component]:
            for item in items:
                if item.get("components"):
                    yield from walk(item["components"])
                elif item.get("type") != 1:
                    yield cls(int(item.get("type", 0)), str(item.get("custom_id") or ""), str(item.get("label") or item.get("placeholder") or ""))

        return tuple(walk(rows))


@dataclass(frozen=True)
class PlaygroundMessage:
    id: int
    channel_id: int
    content: str
    flags: int
    embeds: tuple[Embed, ...]
    attachments: tuple[Attachment, ...]
    components: tuple[Component, ...]
    raw: Mapping[str, Any]  # the payload as the playground sent it, for APIs that take one

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> PlaygroundMessage:
        return cls(
            id=int(data.get("id") or 0), channel_id=int(data.get("channel_id") or 0), content=str(data.get("content") or ""),
            flags=int(data.get("flags") or 0), embeds=tuple(Embed.of(e) for e in data.get("embeds", [])),
            attachments=tuple(Attachment.of(a) for a in data.get("attachments", [])), components=Component.flatten(list(data.get("components", []))),
            raw=data,
        )  # fmt: skip

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def is_track(self) -> bool:
        """A posted track: its MP3, MIDI and piano roll."""
        return len(self.attachments) >= 3

    @property
    def text(self) -> str:
        """Everything the message says: content, then each embed's title, description, fields and footer."""
        return "\n".join(p for p in [self.content, *(e.text for e in self.embeds)] if p)

    @property
    def custom_ids(self) -> list[str]:
        return [c.custom_id for c in self.components]

    def attachment(self, suffix: str) -> Attachment:
        for item in self.attachments:
            if item.filename.endswith(suffix):
                return item
        raise AssertionError(f"no {suffix} attachment in {[a.filename for a in self.attachments]}")


async def followup_message(handle: InteractionHandle, timeout: float = 30) -> PlaygroundMessage:
    return PlaygroundMessage.of(await handle.followup(timeout=timeout))


async def answer_message(playground: Playground, user: str, command: str, options: dict[str, Any] | None = None, *, timeout: float = 30) -> PlaygroundMessage:
    """Run `/command` as `user` and return the bot's first message in answer (ephemeral or not)."""
    handle = await playground.run_command(user, command, options or {})
    await handle.acknowledged()
    return await followup_message(handle, timeout)


def channel_message(playground: Playground, message_id: int) -> PlaygroundMessage:
    """A channel message as it is now (after any edits)."""
    for data in playground.messages():
        if int(data.get("id") or 0) == message_id:
            return PlaygroundMessage.of(data)
    raise AssertionError(f"no message {message_id} in the playground")


__all__ = ["Attachment", "Component", "Embed", "EmbedField", "PlaygroundMessage", "answer_message", "channel_message", "followup_message"]
