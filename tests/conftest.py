"""Fixtures shared by every test folder live in tests/helpers/ and are registered here."""

from __future__ import annotations

import sys
from pathlib import Path

# `tests.helpers` must import however pytest is started: `python -m pytest` puts the working directory on
# sys.path, the `pytest` script does not.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["tests.helpers.playground", "tests.helpers.bot", "tests.helpers.music", "tests.helpers.postgres"]
