"""Copies of JSON values (dicts, lists and scalars, as parsed from a request body)."""

from __future__ import annotations

from typing import Any


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value: what `copy.deepcopy` gives for one, several times faster, because it skips the
    memo and type dispatch that arbitrary objects need (every stored message is copied when it is rendered)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value
