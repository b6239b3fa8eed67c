"""Composer factories for the Ray backend's tests; like service_fakes, importable by the cluster's workers."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.service_fakes import FakeComposer, fake_composer


def fake_composer_unless_missing(path: Path | None, delay_s: float = 0.0) -> FakeComposer:
    """fake_composer, except that a checkpoint whose name starts with "missing" is not there."""
    if path is not None and path.name.startswith("missing"):
        raise FileNotFoundError(f"No model checkpoint at {path}")
    return fake_composer(path, delay_s=delay_s)
