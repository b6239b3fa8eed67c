"""bot/playground/json_values.py: a copy of a stored JSON value shares nothing the caller could change."""

from __future__ import annotations

from bot.playground.json_values import copy_json


def test_a_copy_of_a_json_value_is_equal_and_shares_no_container() -> None:
    stored = {"embeds": [{"title": "A", "fields": [{"name": "n", "value": "v", "inline": True}]}], "flags": 0, "note": None}
    copied = copy_json(stored)
    assert copied == stored
    copied["embeds"][0]["fields"][0]["value"] = "changed"
    copied["embeds"].append({})
    assert stored == {"embeds": [{"title": "A", "fields": [{"name": "n", "value": "v", "inline": True}]}], "flags": 0, "note": None}
