"""A hand-made form reference (what `tunesmith eval --build-form-reference` writes) for the form tests."""

from __future__ import annotations

from engine.evaluation.form_reference import WindowValues, aggregate


def reference_document(values: dict[str, list[float]], style: str = "folk", bars: int = 8) -> dict:
    windows = [WindowValues(style, "train", "test-source", bars, {name: v}) for name, vs in values.items() for v in vs]
    return {"schema": 1, "built": "2026-12-01", "sources": {}, "definitions": {}, "windows": aggregate(windows)}
