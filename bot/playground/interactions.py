"""Interactions: creating them for simulated users, and Discord's rules for answering them.

The rules enforced here are the ones bots trip over in production: a callback must arrive within
`ack_deadline` seconds (else 404/10062 "Unknown interaction"), only once (400/40060), and the
interaction's webhook token works for `followup_window` seconds (then 401/50027). After a deferred
(type 5) callback, the first follow-up replaces the "thinking" message, as on Discord.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.playground.json_values import copy_json
from bot.playground import events as ev
from bot.playground.bodies import RequestBody
from bot.playground.errors import (
    InteractionFailed,
    already_acknowledged,
    invalid_form_body,
    invalid_webhook_token,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from bot.playground.commands import BOT_DM_CONTEXT, GUILD_CONTEXT
from bot.playground.guild import PlaygroundUser, TextChannel
from bot.playground.messages import CHAT_INPUT_COMMAND_MESSAGE, DEFAULT_MESSAGE, EPHEMERAL, LOADING, StoredMessage
from bot.playground.validation import validate_message, validate_modal

if TYPE_CHECKING:
    from bot.playground.state import PlaygroundState

# Interaction types.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
# Callback types.
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 4, 5, 6, 7, 8, 9
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
}


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    user: PlaygroundUser
    channel_id: int
    payload: dict[str, Any]
    label: str  # "/compose" or the clicked custom_id, for messages and the web page
    source_message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    callback: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    failed: bool = False
    rejected_callbacks: list[dict[str, Any]] = field(default_factory=list)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    # Messages made or edited through this interaction, for InteractionHandle.followup(); None = never.
    feed: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else self.callback["type"]

    def owns(self, message_id: int) -> bool:
        return message_id == self.original_message_id or message_id in self.followup_ids


class InteractionHandle:
    """What a simulated user holds after running a command, clicking or submitting a modal."""

    def __init__(self, service: InteractionService, record: InteractionRecord) -> None:
        self._service = service
        self.record = record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def user(self) -> PlaygroundUser:
        return self.record.user

    @property
    def callback(self) -> dict[str, Any] | None:
        return copy_json(self.record.callback)

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (type 9 callback data), if any."""
        return copy_json(self.record.modal)

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.record.label} id={self.id} user={self.user.name} callback={self.record.callback_type}>"

    async def acknowledged(self, timeout: float | None = None) -> dict[str, Any]:
        """The initial callback as `{"type": ..., "data": ...}`; raises InteractionFailed if the bot
        did not answer in time (within the ack deadline, or `timeout`, whichever is first; by default the
        deadline alone decides)."""
        record = self.record
        if timeout is None:
            timeout = self._service.state.limits.ack_deadline + 1.0
        try:
            await asyncio.wait_for(record.settled.wait(), timeout)
        except TimeoutError:
            raise InteractionFailed(f"{record.label}: no interaction callback within {timeout} s") from None
        if record.callback is None:
            late = f"; late callback rejected: {record.rejected_callbacks[-1]}" if record.rejected_callbacks else ""
            raise InteractionFailed(
                f"{record.label}: the bot did not acknowledge within {self._service.state.limits.ack_deadline} s "
                f"(Discord shows 'The application did not respond'){late}"
            )
        return copy_json(record.callback)

    async def followup(self, timeout: float = 60) -> dict[str, Any]:
        """The next message this interaction created or edited: a type-4/7 response, an edit of the
        original response, or a follow-up message (and edits to it), in order."""
        record = self.record
        try:
            message = await asyncio.wait_for(record.feed.get(), timeout)
        except TimeoutError:
            state = "not acknowledged" if record.callback is None else f"acknowledged with type {record.callback_type}"
            raise InteractionFailed(f"{record.label}: no follow-up message within {timeout} s ({state})") from None
        if message is None:
            record.feed.put_nowait(None)  # keep failing for later callers too
            raise InteractionFailed(f"{record.label}: the bot did not acknowledge within {self._service.state.limits.ack_deadline} s, so no response can follow")
        return message


class InteractionService:
    def __init__(self, state: PlaygroundState) -> None:
        self.state = state
        self.by_id: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}
        # Tokens of records dropped after their follow-up window, so they still answer 50027.
        self._expired_tokens: set[str] = set()

    def _forget_expired(self) -> None:
        """Drop records whose token can no longer be used, so a long-running playground stays small."""
        horizon = time.monotonic() - self.state.limits.followup_window
        for record in [r for r in self.by_id.values() if r.created < horizon]:
            del self.by_id[record.id]
            del self.by_token[record.token]
            self._expired_tokens.add(record.token)

    # --- creating ---------------------------------------------------------------------------

    def create(
        self,
        kind: int,
        user: PlaygroundUser,
        data: dict[str, Any],
        label: str,
        *,
        message: StoredMessage | None = None,
        channel: TextChannel | None = None,
    ) -> InteractionHandle:
        """An interaction by `user` in `channel` (a guild channel, a thread or their DM with the bot; by default
        the message's channel, else the first guild's #general)."""
        state = self.state
        self._forget_expired()
        if state.gateway.current is None:
            raise InteractionFailed("no bot has connected to the playground gateway, so nobody would receive the interaction")
        if channel is None:
            channel = state.guild.default_channel if message is None else state.channel(message.channel_id)
        guild = state.guild_of(channel)
        record = InteractionRecord(
            id=state.new_id(),
            token=f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}",
            type=kind,
            user=user,
            channel_id=channel.id,
            payload={},
            label=label,
            source_message_id=None if message is None else message.id,
        )
        payload: dict[str, Any] = {
            "id": str(record.id),
            "application_id": str(state.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "token": record.token,
            "version": 1,
            "app_permissions": str(state.permissions_in(state.bot_user, channel)),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": state.limits.upload_limit,
        }
        if guild is not None:
            member = guild.member_payload(user, with_permissions=True)
            member["permissions"] = str(guild.channel_permissions(user, channel))  # resolved in this channel, as on Discord
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                member=member,
                guild_locale="en-US",
                authorizing_integration_owners={"0": str(guild.id)},
                context=GUILD_CONTEXT,
            )
        else:
            # In the bot's DM there is no guild or member, only the user; a guild install's owner there is "0".
            payload.update(user=user.user_payload(), authorizing_integration_owners={"0": "0"}, context=BOT_DM_CONTEXT)
        if message is not None:
            payload["message"] = state.render(message, user)
        record.payload = payload
        self.by_id[record.id] = record
        self.by_token[record.token] = record
        state.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=None if guild is None else guild.id)
        state.events.record(ev.INTERACTION_CREATE, interaction_id=str(record.id), type=kind, user_id=str(user.id), label=label, data=copy_json(data))
        asyncio.get_running_loop().call_later(state.limits.ack_deadline, self._expire_if_unanswered, record)
        return InteractionHandle(self, record)

    def _expire_if_unanswered(self, record: InteractionRecord) -> None:
        if record.callback is None and not record.failed:
            record.failed = True
            record.settled.set()
            record.feed.put_nowait(None)
            self.state.events.record(ev.INTERACTION_TIMEOUT, interaction_id=str(record.id), user_id=str(record.user.id), label=record.label)

    # --- the callback -----------------------------------------------------------------------

    def callback(self, interaction_id: str, token: str, body: RequestBody, *, with_response: bool) -> dict[str, Any] | None:
        state = self.state
        try:
            record = self.by_id.get(int(interaction_id))
        except ValueError:
            record = None
        if record is None or record.token != token:
            raise unknown_interaction()
        if record.failed or time.monotonic() - record.created > state.limits.ack_deadline:
            record.rejected_callbacks.append({"code": 10062, "after_seconds": round(time.monotonic() - record.created, 3)})
            self._expire_if_unanswered(record)
            raise unknown_interaction()
        if record.callback is not None:
            raise already_acknowledged()
        payload = body.payload if isinstance(body.payload, dict) else {}
        kind = payload.get("type")
        if kind not in ALLOWED_CALLBACKS[record.type] or (kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and record.source_message_id is None):
            allowed = ", ".join(str(t) for t in sorted(ALLOWED_CALLBACKS[record.type]))
            raise invalid_form_body({"type": {"_errors": [{"code": "INTERACTION_CALLBACK_TYPE_INVALID", "message": f"Value must be one of ({allowed})."}]}})
        data = payload.get("data") or {}
        resource_message: StoredMessage | None = None
        if kind == CHANNEL_MESSAGE:
            validate_message(data, require_body=True, has_files=bool(body.files))
            resource_message = self._respond_with_message(record, data, body, flags=0)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            resource_message = self._respond_with_message(record, {"flags": (data.get("flags") or 0) & EPHEMERAL}, RequestBody(), flags=LOADING)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            record.original_message_id = record.source_message_id
            if kind == UPDATE_MESSAGE:
                resource_message = state.edit_message(self._owned_message(record, record.source_message_id), data, body.files)
        elif kind == MODAL:
            validate_modal(data)
            record.modal = copy_json(data)
        record.callback = {"type": kind, "data": copy_json(data)}
        record.settled.set()
        if resource_message is not None and kind != DEFERRED_CHANNEL_MESSAGE:
            record.feed.put_nowait(state.render(resource_message, record.user))
        state.events.record(ev.INTERACTION_CALLBACK, interaction_id=str(record.id), user_id=str(record.user.id), callback=copy_json(record.callback), label=record.label)
        if not with_response:
            return None
        response: dict[str, Any] = {"interaction": {"id": str(record.id), "type": record.type}}
        if resource_message is not None:
            response["interaction"].update(
                response_message_id=str(resource_message.id),
                response_message_loading=bool(resource_message.flags & LOADING),
                response_message_ephemeral=resource_message.ephemeral,
            )
        if kind != DEFERRED_UPDATE:
            response["resource"] = {"type": kind}
            if resource_message is not None:
                response["resource"]["message"] = state.render(resource_message, state.bot_user)
        return response

    def _respond_with_message(self, record: InteractionRecord, data: dict[str, Any], body: RequestBody, *, flags: int) -> StoredMessage:
        state = self.state
        ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        is_command = record.type == APPLICATION_COMMAND
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": record.user.user_payload(),
            "authorizing_integration_owners": copy_json(record.payload["authorizing_integration_owners"]),
        }
        if is_command:
            metadata["name"] = record.label.lstrip("/")
        elif record.source_message_id is not None:
            metadata["interacted_message_id"] = str(record.source_message_id)
        message = state.create_message(
            state.channel(record.channel_id),
            state.bot_user,
            data,
            body.files,
            visible_to=record.user if ephemeral else None,
            require_body=False,
            flags=flags,
            type=CHAT_INPUT_COMMAND_MESSAGE if is_command else DEFAULT_MESSAGE,
            application_id=state.application_id,
            webhook_id=state.application_id,
            interaction_metadata=metadata,
            interaction_legacy={"id": str(record.id), "type": record.type, "name": metadata.get("name", ""), "user": record.user.user_payload()},
        )
        record.original_message_id = message.id
        return message

    # --- the webhook (follow-ups and @original) ---------------------------------------------

    def webhook(self, application_id: str, token: str) -> InteractionRecord:
        record = self.by_token.get(token)
        if application_id == str(self.state.application_id) and token in self._expired_tokens:
            raise invalid_webhook_token()
        if record is None or application_id != str(self.state.application_id):
            raise unknown_webhook()
        if time.monotonic() - record.created > self.state.limits.followup_window:
            raise invalid_webhook_token()
        if record.callback is None:
            raise unknown_webhook()  # the token only becomes usable once the interaction is acknowledged
        return record

    def _owned_message(self, record: InteractionRecord, message_id: int | None) -> StoredMessage:
        message = None if message_id is None else self.state.messages.get(message_id)
        if message is None:
            raise unknown_message()
        return message

    def message_ref(self, record: InteractionRecord, ref: str) -> StoredMessage:
        if ref == "@original":
            return self._owned_message(record, record.original_message_id)
        try:
            message_id = int(ref)
        except ValueError:
            raise unknown_message() from None
        if not record.owns(message_id):
            raise unknown_message()
        return self._owned_message(record, message_id)

    def send_followup(self, record: InteractionRecord, body: RequestBody) -> StoredMessage:
        state = self.state
        data = body.payload if isinstance(body.payload, dict) else {}
        validate_message(data, require_body=True, has_files=bool(body.files))
        original = None if record.original_message_id is None else state.messages.get(record.original_message_id)
        if original is not None and original.flags & LOADING:
            # The first follow-up after "thinking" becomes the response; the defer decided its visibility.
            message = state.edit_message(original, {k: v for k, v in data.items() if k != "flags"}, body.files)
        else:
            ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
            message = state.create_message(
                state.channel(record.channel_id),
                state.bot_user,
                data,
                body.files,
                visible_to=record.user if ephemeral else None,
                application_id=state.application_id,
                webhook_id=state.application_id,
                message_reference=self._reference(record) if record.original_message_id is not None else None,
            )
            record.followup_ids.append(message.id)
        record.feed.put_nowait(state.render(message, record.user))
        return message

    def _reference(self, record: InteractionRecord) -> dict[str, Any]:
        reference = {"message_id": str(record.original_message_id), "channel_id": str(record.channel_id)}
        guild_id = record.payload.get("guild_id")
        if guild_id is not None:
            reference["guild_id"] = guild_id
        return reference

    def edit(self, record: InteractionRecord, ref: str, body: RequestBody) -> StoredMessage:
        message = self.message_ref(record, ref)
        data = body.payload if isinstance(body.payload, dict) else {}
        message = self.state.edit_message(message, data, body.files)
        record.feed.put_nowait(self.state.render(message, record.user))
        return message

    def delete(self, record: InteractionRecord, ref: str) -> None:
        message = self.message_ref(record, ref)
        self.state.delete_message(message)
