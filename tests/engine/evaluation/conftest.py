"""Fixtures for the evaluation tests: the synthetic three-style corpus."""

from __future__ import annotations

import pytest

from engine.data.cache import CorpusCache
from tests.helpers.styled_corpus import make_cache


@pytest.fixture(scope="session")
def corpus() -> CorpusCache:
    return make_cache()
