"""Finding components in messages and modals, and building what Discord sends when they're used."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.playground.errors import PlaygroundError
from bot.playground.validation import AUTO_SELECTS, BUTTON, LABEL, STRING_SELECT, TEXT_INPUT

LINK_STYLES = (5, 6)


def walk(components: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, depth first: action rows, v2 containers/sections and labels included."""
    for component in components:
        yield component
        yield from walk(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                yield from walk([component[key]])


def find_interactive(components: Sequence[dict[str, Any]], custom_id: str) -> dict[str, Any]:
    clickable = [c for c in walk(components) if c.get("custom_id") and c.get("type") in (BUTTON, STRING_SELECT, *AUTO_SELECTS)]
    for component in clickable:
        if component["custom_id"] == custom_id:
            if component.get("disabled"):
                raise PlaygroundError(f"component {custom_id!r} is disabled")
            if component.get("type") == BUTTON and component.get("style") in LINK_STYLES:
                raise PlaygroundError(f"component {custom_id!r} is a link button; it opens a URL instead of sending an interaction")
            return component
    known = ", ".join(c["custom_id"] for c in clickable) or "none"
    raise PlaygroundError(f"the message has no clickable component {custom_id!r}; it has: {known}")


def component_data(component: dict[str, Any], values: Sequence[str] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": component["custom_id"], "component_type": component["type"]}
    if component["type"] == BUTTON:
        if values:
            raise PlaygroundError(f"button {component['custom_id']!r} takes no values")
        return data
    chosen = [str(v) for v in values or []]
    low, high = component.get("min_values", 1), component.get("max_values", 1)
    if not low <= len(chosen) <= high:
        raise PlaygroundError(f"select {component['custom_id']!r} needs between {low} and {high} value(s), got {len(chosen)}")
    if component["type"] == STRING_SELECT:
        allowed = [o["value"] for o in component.get("options") or []]
        wrong = [v for v in chosen if v not in allowed]
        if wrong:
            raise PlaygroundError(f"select {component['custom_id']!r} has no option {wrong[0]!r}; options: {', '.join(allowed)}")
    data["values"] = chosen
    return data


def modal_submission(modal: dict[str, Any], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `components` of a MODAL_SUBMIT, mirroring the modal's own layout (action rows or labels)."""
    fields = {c["custom_id"]: c for c in walk(modal.get("components") or []) if c.get("type") in (TEXT_INPUT, STRING_SELECT) and c.get("custom_id")}
    unknown = [key for key in values if key not in fields]
    if unknown:
        raise PlaygroundError(f"modal {modal.get('custom_id')!r} has no field {unknown[0]!r}; fields: {', '.join(fields)}")
    missing = [key for key, c in fields.items() if c.get("required", True) and c.get("type") == TEXT_INPUT and not values.get(key)]
    if missing:
        raise PlaygroundError(f"modal {modal.get('custom_id')!r}: required field(s) left empty: {', '.join(missing)}")

    def answer(field: dict[str, Any]) -> dict[str, Any]:
        value = values.get(field["custom_id"])
        if field["type"] == STRING_SELECT:
            chosen = [value] if isinstance(value, str) else list(value or [])
            return {"type": STRING_SELECT, "custom_id": field["custom_id"], "values": chosen}
        text = "" if value is None else str(value)
        limit = field.get("max_length")
        if limit is not None and len(text) > limit:
            raise PlaygroundError(f"modal field {field['custom_id']!r} allows at most {limit} characters")
        return {"type": TEXT_INPUT, "custom_id": field["custom_id"], "value": text}

    submitted = []
    for top in modal.get("components") or []:
        if top.get("type") == LABEL and isinstance(top.get("component"), dict) and top["component"].get("custom_id") in fields:
            submitted.append({"type": LABEL, "component": answer(top["component"])})
        elif top.get("type") == 1:
            row = [answer(c) for c in top.get("components") or [] if c.get("custom_id") in fields]
            submitted.append({"type": 1, "components": row})
    return submitted
