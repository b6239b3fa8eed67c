from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.service import EngineService
from service_fakes import FakeComposer, fake_render


@pytest.fixture
async def make_service() -> AsyncIterator[Callable[..., Any]]:
    """Start an EngineService on the fakes; every service made is stopped after the test."""
    started: list[EngineService] = []

    async def make(composer: FakeComposer | None = None, **options: Any) -> EngineService:
        composer = composer or FakeComposer()
        options.setdefault("render_workers", 1)
        options.setdefault("batch_wait_ms", 20)
        service = EngineService(None, None, composer_factory=options.pop("composer_factory", lambda path: composer),
                                render_fn=options.pop("render_fn", fake_render), **options)
        await service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        await service.stop()
