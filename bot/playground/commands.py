"""Application commands the bot synced, and turning "user typed /name opt:value" into interaction data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.playground.json_values import copy_json
from bot.playground.errors import PlaygroundError
from bot.playground.snowflakes import SnowflakeFactory

# Option types (https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-type).
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(1, 12)
CHAT_INPUT = 1
# Interaction context types: in a guild, in a DM with the bot, in another DM or group DM.
GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2


def command_contexts(command: dict[str, Any]) -> set[int]:
    """Where Discord offers a global command: its `contexts`, else `dm_permission` (false: servers only)."""
    contexts = command.get("contexts")
    if contexts is not None:
        return {int(c) for c in contexts}
    if command.get("dm_permission") is False:
        return {GUILD_CONTEXT}
    return {GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT}
OPTION_TYPE_NAMES = {
    STRING: "text", INTEGER: "integer", BOOLEAN: "true/false", USER: "user", CHANNEL: "channel",
    ROLE: "role", MENTIONABLE: "user or role", NUMBER: "number", ATTACHMENT: "file",
}


@dataclass
class ResolvedCommand:
    """A command path resolved against the synced commands: the top-level command and the leaf to fill."""

    command: dict[str, Any]
    guild_id: int | None
    path: list[str]
    leaf_options: list[dict[str, Any]]


@dataclass
class CommandRegistry:
    application_id: int
    new_id: SnowflakeFactory
    global_commands: list[dict[str, Any]] = field(default_factory=list)
    guild_commands: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def listing(self, guild_id: int | None) -> list[dict[str, Any]]:
        commands = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        return copy_json(commands)

    def overwrite(self, guild_id: int | None, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk overwrite; like Discord, a command keeps its id when one of the same name and type existed."""
        existing = {(c["name"], c.get("type", 1)): c for c in (self.global_commands if guild_id is None else self.guild_commands.get(guild_id, []))}
        stored = []
        for item in payload:
            previous = existing.get((item["name"], item.get("type", 1)))
            stored.append(self._store(item, guild_id, previous["id"] if previous else None))
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        return copy_json(stored)

    def upsert(self, guild_id: int | None, item: dict[str, Any]) -> dict[str, Any]:
        commands = self.global_commands if guild_id is None else self.guild_commands.setdefault(guild_id, [])
        for index, command in enumerate(commands):
            if (command["name"], command.get("type", 1)) == (item["name"], item.get("type", 1)):
                commands[index] = self._store(item, guild_id, command["id"])
                return copy_json(commands[index])
        commands.append(self._store(item, guild_id, None))
        return copy_json(commands[-1])

    def find_by_id(self, guild_id: int | None, command_id: int) -> dict[str, Any] | None:
        commands = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        return next((c for c in commands if int(c["id"]) == command_id), None)

    def delete(self, guild_id: int | None, command_id: int) -> bool:
        commands = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        command = self.find_by_id(guild_id, command_id)
        if command is None:
            return False
        commands.remove(command)
        return True

    def _store(self, item: dict[str, Any], guild_id: int | None, command_id: str | None) -> dict[str, Any]:
        stored = copy_json(item)
        stored.setdefault("type", CHAT_INPUT)
        stored.setdefault("description", "")
        stored.setdefault("options", [])
        stored.setdefault("default_member_permissions", None)
        if stored["default_member_permissions"] is not None:
            stored["default_member_permissions"] = str(int(stored["default_member_permissions"]))  # Discord answers a string
        stored.setdefault("nsfw", False)
        stored["id"] = command_id or str(self.new_id())
        stored["application_id"] = str(self.application_id)
        stored["version"] = str(self.new_id())
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        else:
            stored["contexts"] = sorted(command_contexts(stored))
            stored.setdefault("integration_types", [0])
        return stored

    def available(self, guild_id: int | None) -> list[dict[str, Any]]:
        """The commands Discord offers in a guild (its own, then global ones allowed in guilds), or with
        `guild_id` None in a DM with the bot (global ones allowed there)."""
        if guild_id is None:
            return [c for c in self.global_commands if BOT_DM_CONTEXT in command_contexts(c)]
        return [*self.guild_commands.get(guild_id, []), *(c for c in self.global_commands if GUILD_CONTEXT in command_contexts(c))]

    def chat_input_paths(self, guild_id: int | None) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
        """Every invocable path ("compose", "plugins reload") with its leaf description and options, guild first."""
        paths: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
        seen: set[str] = set()
        for command in self.available(guild_id):
            if command.get("type", 1) != CHAT_INPUT or command["name"] in seen:
                continue
            seen.add(command["name"])
            for path, leaf in _leaves(command, [command["name"]]):
                paths.append((" ".join(path), leaf, leaf.get("options") or []))
        return paths

    def resolve(self, name: str, guild_id: int | None) -> ResolvedCommand:
        """`name` among the commands offered in `guild_id` (None: a DM with the bot)."""
        parts = name.strip().lstrip("/").split()
        if not parts:
            raise PlaygroundError("a command name is required")
        top = next((c for c in self.available(guild_id) if c["name"] == parts[0] and c.get("type", 1) == CHAT_INPUT), None)
        if top is None:
            where = "in DMs" if guild_id is None else "in this guild"
            exists = any(c["name"] == parts[0] for c in [*self.global_commands, *(c for cs in self.guild_commands.values() for c in cs)])
            if exists:
                raise PlaygroundError(f"/{parts[0]} is not offered {where}: Discord only shows a command where its contexts allow it")
            known = ", ".join(f"/{path}" for path, _, _ in self.chat_input_paths(guild_id)) or "none (has the bot synced its command tree?)"
            raise PlaygroundError(f"unknown command /{parts[0]}; registered commands: {known} ({where})")
        scope = int(top["guild_id"]) if top.get("guild_id") is not None else None
        node: dict[str, Any] = top
        for part in parts[1:]:
            child = next((o for o in node.get("options") or [] if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
            if child is None:
                raise PlaygroundError(f"/{' '.join(parts)}: /{name_of(node, parts)} has no subcommand {part!r}")
            node = child
        if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in node.get("options") or []):
            subs = ", ".join(o["name"] for o in node["options"])
            raise PlaygroundError(f"/{' '.join(parts)} needs a subcommand: one of {subs}")
        return ResolvedCommand(command=top, guild_id=scope, path=parts, leaf_options=node.get("options") or [])


def name_of(node: dict[str, Any], parts: list[str]) -> str:
    return " ".join(parts[: parts.index(node["name"]) + 1]) if node["name"] in parts else node["name"]


def _leaves(node: dict[str, Any], path: list[str]) -> list[tuple[list[str], dict[str, Any]]]:
    children = [o for o in node.get("options") or [] if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if not children:
        return [(path, node)]
    leaves = []
    for child in children:
        leaves.extend(_leaves(child, [*path, child["name"]]))
    return leaves


def coerce_option(definition: dict[str, Any], value: Any, command: str) -> Any:
    """Convert a value typed by a person (often a string) to the option's type, enforcing choices and ranges
    the way Discord's client does before it ever sends the interaction."""
    name, kind = definition["name"], definition["type"]
    where = f"/{command} option {name!r}"
    choices = definition.get("choices") or []
    if choices:
        for choice in choices:
            if value == choice["value"] or (isinstance(value, str) and value.lower() in (str(choice["value"]).lower(), choice["name"].lower())):
                return choice["value"]
        allowed = ", ".join(str(c["value"]) for c in choices)
        raise PlaygroundError(f"{where}: {value!r} is not one of the choices: {allowed}")
    try:
        if kind == STRING:
            result: Any = str(value)
            lo, hi = definition.get("min_length"), definition.get("max_length")
            if (lo is not None and len(result) < lo) or (hi is not None and len(result) > hi):
                raise PlaygroundError(f"{where}: length must be between {lo or 0} and {hi or 6000}")
            return result
        if kind == BOOLEAN:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "yes", "1")
            return bool(value)
        if kind in (INTEGER, NUMBER):
            if isinstance(value, bool):
                raise ValueError(value)
            result = int(value) if kind == INTEGER else float(value)
            if kind == INTEGER and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            lo, hi = definition.get("min_value"), definition.get("max_value")
            if (lo is not None and result < lo) or (hi is not None and result > hi):
                raise PlaygroundError(f"{where}: {result} is outside {lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}")
            return result
    except (TypeError, ValueError):
        raise PlaygroundError(f"{where} needs a {OPTION_TYPE_NAMES[kind]}, got {value!r}") from None
    return value
