"""Model fixtures: one tiny model trained for a few steps on a synthetic cache, once per test session.

Registered by the conftest.py of the folders whose tests use them (tests/engine/, tests/bot/commands/).
"""

from __future__ import annotations

import pytest
import torch

from engine.generate import Composer
from engine.model_config import get_config
from engine.train import train
from tests.helpers.synthetic import synthetic_cache

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
