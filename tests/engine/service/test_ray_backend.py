"""The engine on Ray Serve: a real local Ray cluster (a head and a second node, on 127.0.0.1) per module,
an EngineService on the Ray backend per test, the service fakes for the model and the renders."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from engine.request import ComposeRequest
from engine.service import EngineFailure, EngineJob, EngineTimeout
from engine.service.ray_backend import LocalRayCluster, RayModelStage, connect, ray_engine_service
from ray_fakes import fake_composer_unless_missing
from service_fakes import fake_composer, fake_render

HERE = Path(__file__).resolve().parent

pytest.importorskip("ray.serve", reason="the Ray backend's tests need tunesmith[scale]")


def compose(user: str = "g:u", **request) -> EngineJob:
    return EngineJob.compose(ComposeRequest(**request), user_key=user)


def call_size(result) -> int:
    return int(result.composition.latent[1])  # the fake records the size of the generate() call


@pytest.fixture(scope="module")
def ray_cluster():
    cluster = LocalRayCluster(head_cpus=2, workers=1, worker_cpus=2, pythonpath=[HERE])
    try:
        address = cluster.start()
        connect(address)
        yield address
    finally:
        cluster.shutdown()


@pytest.fixture
async def make_ray_service(ray_cluster):
    started = []

    async def make(model_delay_s: float = 0.0, **options):
        options.setdefault("composer_factory", partial(fake_composer, delay_s=model_delay_s))
        options.setdefault("render_fn", fake_render)
        options.setdefault("model_cpus", 0.5)
        options.setdefault("render_cpus", 0.5)
        service = ray_engine_service(None, None, address=ray_cluster, app_name=f"t{len(started)}", **options)
        await service.start()
        started.append(service)
        return service

    try:
        yield make
    finally:
        for service in started:
            await service.stop()


async def test_composes_through_ray_share_one_model_call(make_ray_service):
    service = await make_ray_service(batch_max=8, pipeline_depth=8, per_user_cap=8, render_replicas=2)
    tickets = [service.submit(compose(seed=i)) for i in range(8)]
    results = await asyncio.gather(*(t.result() for t in tickets))
    assert [r.composition.request.seed for r in results] == list(range(8))
    assert [call_size(r) for r in results] == [8] * 8
    assert all(r.track.mp3.startswith(b"mp3") and r.composition.model_version == "v1" for r in results)
    assert service.model_version == "v1"
    stats = service.stats()
    assert stats["completed"] == 8 and stats["batches_run"] == 1 and stats["render_workers"] == 2
