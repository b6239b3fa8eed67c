"""Shared fixtures: one tiny model trained for a few steps on a synthetic cache, once per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import synthetic_cache  # noqa: E402

from engine.generate import Composer  # noqa: E402
from engine.model_config import get_config  # noqa: E402
from engine.train import train  # noqa: E402

# The test machines are small and shared: one intra-op thread avoids contention on these tiny models.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_cache():
    return synthetic_cache(per_style=12)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_cache):
    out = tmp_path_factory.mktemp("tiny")
    metrics = train(get_config("tiny"), tiny_cache, out, seed=0, device="cpu", log_every=5)
    return out, metrics


@pytest.fixture(scope="session")
def composer(tiny_run) -> Composer:
    out, _ = tiny_run
    return Composer.load(out / "model.pt", device="cpu")
