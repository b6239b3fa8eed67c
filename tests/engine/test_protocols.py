"""The typed seams (engine.protocols): the real composer, the tests' fake and the engine services fit them."""

from __future__ import annotations

import inspect

import pytest

from engine.protocols import Composer, Engine
from tests.helpers.service_fakes import FakeComposer

COMPOSER_METHODS = ["generate", "variation", "restyle", "remood", "continue_piece", "encode"]


def parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("method", COMPOSER_METHODS)
def test_the_real_composer_takes_what_the_protocol_gives(method: str) -> None:
    from engine.generate import Composer as ModelComposer

    assert parameters(getattr(ModelComposer, method)) == parameters(getattr(Composer, method))


@pytest.mark.parametrize("method", COMPOSER_METHODS)
def test_the_fake_composer_takes_what_the_protocol_gives(method: str) -> None:
    assert parameters(getattr(FakeComposer, method)) == parameters(getattr(Composer, method))
    assert isinstance(FakeComposer(), Composer)


@pytest.mark.parametrize("member", ["model_version", "submit", "swap_model", "stats", "stop", "model_pid", "render_worker_pids"])
def test_the_engine_services_have_what_the_bot_uses(member: str) -> None:
    from engine.service import EngineService

    assert member in dir(Engine)
    assert hasattr(EngineService, member)
