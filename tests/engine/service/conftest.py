from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest

from engine.service import EngineService
from tests.helpers.service_fakes import NO_FAULTS, FakeFaults, fake_composer, fake_render


@pytest.fixture
async def make_service() -> AsyncIterator[Callable[..., Any]]:
    """Start an EngineService on the fakes (model_delay_s slows the fake model, `faults` makes them fail); stopped after the test."""
    started: list[EngineService] = []

    async def make(model_delay_s: float = 0.0, faults: FakeFaults = NO_FAULTS, **options: Any) -> EngineService:
        options.setdefault("render_workers", 1)
        options.setdefault("composer_factory", partial(fake_composer, delay_s=model_delay_s, faults=faults))
        options.setdefault("render_fn", partial(fake_render, faults=faults))
        service = EngineService(None, None, **options)
        await service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        await service.stop()
