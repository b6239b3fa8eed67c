"""Discord's documented limits on message, modal and application-command payloads.

Violations are collected into `FormErrors` so a bad payload gets one 400 "Invalid Form Body"
listing every problem, the way Discord answers.
"""

from __future__ import annotations

import re
from typing import Any

from bot.playground.errors import FormErrors, empty_message, invalid_form_body

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_SELECT_OPTIONS = 25
MAX_ATTACHMENTS = 10
# Webhook/interaction messages may set these: suppress embeds, ephemeral, silent, components v2.
ALLOWED_MESSAGE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 15)
COMPONENTS_V2 = 1 << 15

ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
AUTO_SELECTS = (5, 6, 7, 8)  # user, role, mentionable, channel selects
LINK_BUTTON, PREMIUM_BUTTON = 5, 6
LABEL = 18

COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


def _max_length(errors: FormErrors, path: tuple[str | int, ...], value: Any, limit: int) -> None:
    if isinstance(value, str | list) and len(value) > limit:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _expect(errors: FormErrors, path: tuple[str | int, ...], value: Any, kind: type | tuple[type, ...], name: str) -> bool:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return True
    errors.add(path, f"BASE_TYPE_{name.upper()}", f"Must be a valid {name}." if name != "array" else "Must be an array.")
    return False


def validate_message(payload: Any, *, require_body: bool, allowed_flags: int = ALLOWED_MESSAGE_FLAGS, has_files: bool = False) -> None:
    """Raise 50035 (or 50006 for an empty message) if the payload breaks Discord's limits."""
    if not isinstance(payload, dict):
        raise invalid_form_body({"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]})
    errors = FormErrors()
    content = payload.get("content")
    if content is not None and _expect(errors, ("content",), content, str, "string"):
        _max_length(errors, ("content",), content, MAX_CONTENT)
    embeds = payload.get("embeds")
    if embeds is not None and _expect(errors, ("embeds",), embeds, list, "array"):
        _max_length(errors, ("embeds",), embeds, MAX_EMBEDS)
        for index, embed in enumerate(embeds):
            _validate_embed(errors, ("embeds", index), embed)
        total = sum(_embed_text_length(e) for e in embeds if isinstance(e, dict))
        if total > MAX_EMBED_TOTAL:
            errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")
    flags = payload.get("flags")
    if flags is not None and _expect(errors, ("flags",), flags, int, "integer") and flags & ~allowed_flags:
        errors.add(("flags",), "MESSAGE_INVALID_FLAGS", "Invalid flags.")
    components = payload.get("components")
    if components is not None and _expect(errors, ("components",), components, list, "array"):
        if not (isinstance(flags, int) and flags & COMPONENTS_V2):
            _max_length(errors, ("components",), components, MAX_ACTION_ROWS)
            for index, row in enumerate(components):
                _validate_action_row(errors, ("components", index), row)
    attachments = payload.get("attachments")
    if attachments is not None and _expect(errors, ("attachments",), attachments, list, "array"):
        _max_length(errors, ("attachments",), attachments, MAX_ATTACHMENTS)
    errors.raise_if_any()
    if require_body and not (content or embeds or components or has_files or payload.get("sticker_ids") or payload.get("poll")):
        raise empty_message()


def _embed_text_length(embed: dict[str, Any]) -> int:
    total = sum(len(str(embed.get(key) or "")) for key in ("title", "description"))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    for field in embed.get("fields") or []:
        if isinstance(field, dict):
            total += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    return total


def _validate_embed(errors: FormErrors, path: tuple[str | int, ...], embed: Any) -> None:
    if not _expect(errors, path, embed, dict, "object"):
        return
    _max_length(errors, (*path, "title"), embed.get("title"), 256)
    _max_length(errors, (*path, "description"), embed.get("description"), 4096)
    footer = embed.get("footer")
    if isinstance(footer, dict):
        _max_length(errors, (*path, "footer", "text"), footer.get("text"), 2048)
    author = embed.get("author")
    if isinstance(author, dict):
        _max_length(errors, (*path, "author", "name"), author.get("name"), 256)
    fields = embed.get("fields")
    if fields is not None and _expect(errors, (*path, "fields"), fields, list, "array"):
        _max_length(errors, (*path, "fields"), fields, 25)
        for index, field in enumerate(fields):
            if not _expect(errors, (*path, "fields", index), field, dict, "object"):
                continue
            for key, limit in (("name", 256), ("value", 1024)):
                value = field.get(key)
                if not isinstance(value, str) or not value.strip():  # Discord trims: a blank value is a missing one
                    errors.add((*path, "fields", index, key), "BASE_TYPE_REQUIRED", "This field is required")
                else:
                    _max_length(errors, (*path, "fields", index, key), value, limit)


def _validate_action_row(errors: FormErrors, path: tuple[str | int, ...], row: Any) -> None:
    if not _expect(errors, path, row, dict, "object"):
        return
    if row.get("type") != ACTION_ROW:
        errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
        return
    children = row.get("components")
    if not isinstance(children, list) or not children:
        errors.add((*path, "components"), "BASE_TYPE_REQUIRED", "This field is required")
        return
    _max_length(errors, (*path, "components"), children, MAX_ROW_ITEMS)
    for index, child in enumerate(children):
        _validate_interactive(errors, (*path, "components", index), child)
    kinds = {c.get("type") for c in children if isinstance(c, dict)}
    if len(children) > 1 and kinds & {STRING_SELECT, *AUTO_SELECTS}:
        errors.add((*path, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")


def _validate_interactive(errors: FormErrors, path: tuple[str | int, ...], component: Any) -> None:
    if not _expect(errors, path, component, dict, "object"):
        return
    kind = component.get("type")
    custom_id = component.get("custom_id")
    if kind == BUTTON:
        style = component.get("style")
        if style == LINK_BUTTON:
            if not component.get("url"):
                errors.add((*path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
        elif style != PREMIUM_BUTTON and not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        _max_length(errors, (*path, "label"), component.get("label"), 80)
    elif kind == STRING_SELECT:
        options = component.get("options")
        if not isinstance(options, list) or not options:
            errors.add((*path, "options"), "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _max_length(errors, (*path, "options"), options, MAX_SELECT_OPTIONS)
        if not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        _validate_select_values(errors, path, component)
    elif kind in AUTO_SELECTS or kind == TEXT_INPUT:
        if not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        if kind in AUTO_SELECTS:
            _validate_select_values(errors, path, component)
    else:
        errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (2, 3, 4, 5, 6, 7, 8).")
    _max_length(errors, (*path, "custom_id"), custom_id, 100)


def _validate_select_values(errors: FormErrors, path: tuple[str | int, ...], select: dict[str, Any]) -> None:
    """min_values 0-25, max_values 1-25, min <= max; a required select (in a modal) must ask for at least one."""
    low, high = select.get("min_values"), select.get("max_values")
    if low is not None and (not isinstance(low, int) or not 0 <= low <= 25):
        errors.add((*path, "min_values"), "NUMBER_TYPE_MAX" if isinstance(low, int) and low > 25 else "NUMBER_TYPE_MIN", "int value should be between 0 and 25.")
    if high is not None and (not isinstance(high, int) or not 1 <= high <= 25):
        errors.add((*path, "max_values"), "NUMBER_TYPE_MAX" if isinstance(high, int) and high > 25 else "NUMBER_TYPE_MIN", "int value should be between 1 and 25.")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.add((*path, "min_values"), "SELECT_COMPONENT_MIN_VALUES_GREATER_THAN_MAX", "min_values must be less than or equal to max_values.")
    if select.get("required", False) and low == 0:
        errors.add((*path, "min_values"), "SELECT_COMPONENT_REQUIRED_MIN_VALUES", "A required select must have min_values of at least 1.")


def _modal_selects(components: list[Any], path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """The selects of a modal, in action rows or labels, with their paths."""
    found = []
    for index, item in enumerate(components):
        if not isinstance(item, dict):
            continue
        children = [("component", item["component"])] if isinstance(item.get("component"), dict) else list(enumerate(item.get("components") or []))
        for key, child in children:
            if isinstance(child, dict) and child.get("type") in (STRING_SELECT, *AUTO_SELECTS):
                found.append(((*path, index, "components" if key != "component" else "component", *(() if key == "component" else (key,))), child))
    return found


def validate_modal(data: Any) -> None:
    errors = FormErrors()
    if not isinstance(data, dict):
        raise invalid_form_body({"data": {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}})
    for key, limit in (("custom_id", 100), ("title", 45)):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            errors.add(("data", key), "BASE_TYPE_REQUIRED", "This field is required")
        else:
            _max_length(errors, ("data", key), value, limit)
    components = data.get("components")
    if not isinstance(components, list) or not components:
        errors.add(("data", "components"), "BASE_TYPE_REQUIRED", "This field is required")
    else:
        _max_length(errors, ("data", "components"), components, 5)
        for path, select in _modal_selects(components, ("data", "components")):
            _validate_select_values(errors, path, select)
    errors.raise_if_any()


def validate_commands(commands: Any) -> None:
    """Bulk-overwrite payloads: a list of commands with valid, unique names and descriptions."""
    if not isinstance(commands, list):
        raise invalid_form_body({"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]})
    errors = FormErrors()
    seen: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        if not isinstance(command, dict):
            errors.add((index,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        _validate_command_like(errors, (index,), command, is_chat_input=command.get("type", 1) == 1)
        key = (str(command.get("name")), int(command.get("type", 1)))
        if key in seen:
            errors.add((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Application command names must be unique: {key[0]}")
        seen.add(key)
    errors.raise_if_any()


def _validate_command_like(errors: FormErrors, path: tuple[str | int, ...], item: dict[str, Any], *, is_chat_input: bool) -> None:
    name = item.get("name")
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or (is_chat_input and name != name.lower()):
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if is_chat_input:
        description = item.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            errors.add((*path, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    options = item.get("options") or []
    if not isinstance(options, list):
        errors.add((*path, "options"), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    _max_length(errors, (*path, "options"), options, 25)
    seen_optional = False
    for index, option in enumerate(options):
        if not isinstance(option, dict):
            errors.add((*path, "options", index), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        _validate_command_like(errors, (*path, "options", index), option, is_chat_input=True)
        if option.get("type") not in range(1, 12):
            errors.add((*path, "options", index, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, ..., 11}.")
        if option.get("required"):
            if seen_optional:
                errors.add((*path, "options", index, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
        elif option.get("type") not in (1, 2):
            seen_optional = True
        _max_length(errors, (*path, "options", index, "choices"), option.get("choices"), 25)
