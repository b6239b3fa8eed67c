from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Storage


@pytest.fixture
async def storage(database_target: Path | str, tmp_path: Path) -> AsyncIterator[Storage]:
    """A fresh Storage, once on SQLite and once on PostgreSQL (tests/helpers/postgres.py)."""
    opened = await Storage.open(database_target, tmp_path / "media")
    try:
        yield opened
    finally:
        await opened.close()
