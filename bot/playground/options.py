"""Building application-command interaction data (options, subcommands, resolved objects) from
what a simulated user "typed"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.playground.commands import (
    ATTACHMENT,
    CHANNEL,
    MENTIONABLE,
    ROLE,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
    ResolvedCommand,
    coerce_option,
)
from bot.playground.errors import PlaygroundError
from bot.playground.guild import Guild, PlaygroundUser, Role
from bot.playground.state import PlaygroundState

AttachmentInput = tuple[str, bytes]


def build_command_data(
    state: PlaygroundState,
    resolved: ResolvedCommand,
    options: Mapping[str, Any],
    attachments: Sequence[AttachmentInput],
    channel_id: int,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    label = "/" + " ".join(resolved.path)
    definitions = {d["name"]: d for d in resolved.leaf_options}
    unknown = [name for name in options if name not in definitions]
    if unknown:
        valid = ", ".join(definitions) or "none"
        raise PlaygroundError(f"{label} has no option {unknown[0]!r}; its options are: {valid}")
    pending_files = list(attachments)
    values: dict[str, Any] = dict(options)
    for definition in resolved.leaf_options:
        if definition["type"] == ATTACHMENT and definition["name"] not in values and pending_files:
            values[definition["name"]] = pending_files.pop(0)
    if pending_files:
        raise PlaygroundError(f"{label}: {len(pending_files)} attachment(s) given but no attachment option left to take them")
    if focused is None:
        missing = [d["name"] for d in resolved.leaf_options if d.get("required") and d["name"] not in values]
        if missing:
            raise PlaygroundError(f"{label} is missing required option(s): {', '.join(missing)}")
    resolved_data: dict[str, dict[str, Any]] = {}
    leaf: list[dict[str, Any]] = []
    for definition in resolved.leaf_options:
        name = definition["name"]
        if name not in values:
            continue
        if name == focused:
            leaf.append({"type": definition["type"], "name": name, "value": str(values[name]), "focused": True})
            continue
        value = _resolve_value(state, definition, values[name], label, channel_id, resolved_data)
        leaf.append({"type": definition["type"], "name": name, "value": value})
    # Wrap the leaf options in their subcommand (and group), innermost last in the path.
    nested = leaf
    for depth in range(len(resolved.path) - 1, 0, -1):
        kind = SUB_COMMAND if depth == len(resolved.path) - 1 else SUB_COMMAND_GROUP
        nested = [{"type": kind, "name": resolved.path[depth], "options": nested}]
    data: dict[str, Any] = {"id": resolved.command["id"], "name": resolved.command["name"], "type": 1, "options": nested}
    if resolved_data:
        data["resolved"] = resolved_data
    if resolved.guild_id is not None:
        data["guild_id"] = str(resolved.guild_id)
    return data


def _resolve_value(state: PlaygroundState, definition: dict[str, Any], value: Any, label: str, channel_id: int, resolved: dict[str, dict[str, Any]]) -> Any:
    kind = definition["type"]
    where = f"{label} option {definition['name']!r}"
    if kind == ATTACHMENT:
        if not (isinstance(value, tuple | list) and len(value) == 2 and isinstance(value[1], bytes | bytearray)):
            raise PlaygroundError(f"{where} needs a (filename, bytes) pair")
        filename, data = value
        if len(data) > state.limits.upload_limit:
            raise PlaygroundError(f"{where}: {filename} is {len(data)} bytes, over the {state.limits.upload_limit}-byte upload limit")
        attachment = state.new_attachment(channel_id, str(filename), bytes(data), None)
        resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.payload(state.base_url, ephemeral=True)
        return str(attachment.id)
    guild = state.guild_of(state.channel(channel_id))
    if kind in (USER, MENTIONABLE) and not (kind == MENTIONABLE and guild is not None and _find_role(guild, value)):
        user = state.user(value.id if isinstance(value, PlaygroundUser) else value)
        resolved.setdefault("users", {})[str(user.id)] = user.user_payload()
        if guild is not None and user.id in guild.members:
            resolved.setdefault("members", {})[str(user.id)] = guild.member_payload(user, with_user=False, with_permissions=True)
        return str(user.id)
    if kind in (ROLE, MENTIONABLE, CHANNEL) and guild is None:
        raise PlaygroundError(f"{where}: a DM has no roles or channels to pick")
    if kind in (ROLE, MENTIONABLE) and guild is not None:
        role = _find_role(guild, value)
        if role is None:
            names = ", ".join(r.name for r in guild.roles)
            raise PlaygroundError(f"{where}: unknown role {value!r}; roles: {names}")
        resolved.setdefault("roles", {})[str(role.id)] = role.payload()
        return str(role.id)
    if kind == CHANNEL and guild is not None:
        channel = next((c for c in guild.channels.values() if str(value).lstrip("#") in (c.name, str(c.id))), None)
        if channel is None:
            raise PlaygroundError(f"{where}: unknown channel {value!r}")
        resolved.setdefault("channels", {})[str(channel.id)] = {**channel.payload(), "permissions": str(guild.channel_permissions(state.bot_user, channel))}
        return str(channel.id)
    return coerce_option(definition, value, label.lstrip("/"))


def _find_role(guild: Guild, value: Any) -> Role | None:
    text = str(value).lstrip("@")
    return next((r for r in guild.roles if text in (r.name, str(r.id))), None)
