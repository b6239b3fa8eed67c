"""Fixtures for the data tests: small pieces written on the fly, and the shared data folder when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.music import Piece
from tests.helpers.data_pieces import SHARED_DATA, scale_piece


@pytest.fixture
def piece() -> Piece:
    return scale_piece()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA
