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
from tests.helpers.ray_fakes import fake_composer_unless_missing
from tests.helpers.service_fakes import NO_FAULTS, FakeFaults, fake_composer, fake_render

pytest.importorskip("ray.serve", reason="the Ray backend's tests need tunesmith[scale]")


def compose(user: str = "g:u", **request) -> EngineJob:
    return EngineJob.compose(ComposeRequest(**request), user_key=user)


def call_size(result) -> int:
    return int(result.composition.latent[1])  # the fake records the size of the generate() call


@pytest.fixture(scope="module")
def ray_cluster():
    cluster = LocalRayCluster(head_cpus=2, workers=1, worker_cpus=2)  # its workers import tests.helpers from the checkout
    try:
        address = cluster.start()
        connect(address)
        yield address
    finally:
        cluster.shutdown()


@pytest.fixture
async def make_ray_service(ray_cluster):
    started = []

    async def make(model_delay_s: float = 0.0, faults: FakeFaults = NO_FAULTS, **options):
        options.setdefault("composer_factory", partial(fake_composer, delay_s=model_delay_s, faults=faults))
        options.setdefault("render_fn", partial(fake_render, faults=faults))
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
    assert stats.completed == 8 and stats.batches_run == 1 and stats.render_workers == 2


async def test_serve_batch_merges_batches_that_arrive_while_the_model_is_busy(ray_cluster):
    """Two shards' batches (two run() calls) queued behind a running one become one model call on the replica."""
    stage = RayModelStage(partial(fake_composer, delay_s=1.0), app_name="merge", cpus=0.5, max_batch_requests=4)
    try:
        assert await stage.load(None) == "v1"
        first = asyncio.ensure_future(stage.run([compose(seed=0)]))
        await asyncio.sleep(0.3)  # the first batch is on the model now
        second, third = await asyncio.gather(stage.run([compose(seed=1), compose(seed=2)]), stage.run([compose(seed=3)]))
        [alone] = await first
        assert int(alone.latent[1]) == 1
        assert [int(c.latent[1]) for c in second + third] == [3, 3, 3]
        assert [int(c.latent[0]) for c in second + third] == [1, 2, 3]
    finally:
        await stage.close()


async def test_positions_count_down_and_cancellation_frees_places(make_ray_service):
    service = await make_ray_service(pipeline_depth=1, per_user_cap=5, faults=FakeFaults(render_seconds={1: 1.5, 20: 2}))
    slow = service.submit(compose("g:a", seed=1))
    while slow.position() != 0:
        await asyncio.sleep(0.01)
    queued = [service.submit(compose(f"g:{i}", seed=10 + i)) for i in range(3)]
    assert [t.position() for t in queued] == [1, 2, 3]
    withdrawn = queued[1]
    assert withdrawn.cancel()
    assert [queued[0].position(), queued[2].position()] == [1, 2]
    seen = [p async for p in queued[2].positions()]
    assert seen[0] == 2 and seen[-1] == 0 and all(a > b for a, b in zip(seen, seen[1:]))
    assert (await slow.result()).composition.request.seed == 1
    with pytest.raises(asyncio.CancelledError):
        await withdrawn.result()
    # A job cancelled while it renders on the cluster: its place frees, the next job still finishes.
    rendering = service.submit(compose("g:b", seed=20))
    while rendering.position() != 0 or service.stats().in_flight == 0:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert rendering.cancel()
    after = await service.submit(compose("g:c", seed=21)).result()
    assert after.composition.request.seed == 21
    assert service.stats().cancelled == 2


async def test_a_job_past_the_timeout_gets_a_clear_answer_and_the_engine_recovers(make_ray_service):
    service = await make_ray_service(timeout_s=2.0, faults=FakeFaults(render_seconds={1: 6}))
    with pytest.raises(EngineTimeout, match="took longer than 2 s"):
        await service.submit(compose(seed=1)).result()
    # The hung replica exits and Serve replaces it; the next piece is made.
    result = await service.submit(compose(seed=2)).result()
    assert result.composition.request.seed == 2


async def test_model_swap_is_atomic_across_replicas(make_ray_service):
    service = await make_ray_service(model_delay_s=0.05, model_replicas=2, model_cpus=0.25, per_user_cap=8, pipeline_depth=2,
                                     composer_factory=partial(fake_composer_unless_missing, delay_s=0.05))
    versions: list[str] = []
    swapped = asyncio.Event()

    async def keep_composing() -> None:
        seed = 0
        while not swapped.is_set() or versions.count("v2") < 4:
            result = await service.submit(compose("g:steady", seed=seed)).result()
            versions.append(result.composition.model_version)
            seed += 1

    composing = asyncio.ensure_future(keep_composing())
    await asyncio.sleep(0.5)
    old_app = service._model.app_name
    assert await service.swap_model(Path("v2")) == "v2"
    swapped.set()
    after = await asyncio.gather(*(service.submit(compose(f"g:{i}", seed=100 + i)).result() for i in range(6)))
    await composing
    assert all(r.composition.model_version == "v2" for r in after)
    first_new = versions.index("v2")
    assert versions[:first_new] == ["v1"] * first_new and set(versions[first_new:]) == {"v2"} and first_new > 0
    assert service.model_version == "v2" and len(service._model.replica_actors()) == 2
    # The old version's application goes once its last batch is done.
    for _ in range(100):
        from engine.service.ray_backend.stages import replica_actors

        if not replica_actors(old_app):
            break
        await asyncio.sleep(0.2)
    assert replica_actors(old_app) == []
    # A version that cannot load leaves the active one serving, with the reason.
    with pytest.raises(EngineFailure, match=r"Could not load the model at missing-v3: .*No model checkpoint at missing-v3"):
        await service.swap_model(Path("missing-v3"))
    assert (await service.submit(compose(seed=7)).result()).composition.model_version == "v2"


async def test_a_killed_render_replica_is_retried_and_a_replica_that_keeps_dying_gets_a_clear_error(make_ray_service, tmp_path):
    import ray

    marker = tmp_path / "rendering"
    service = await make_ray_service(faults=FakeFaults(pid_files={5: str(marker)}, renderer_dies={6}))
    ticket = service.submit(compose(seed=5))
    while not marker.exists():
        await asyncio.sleep(0.05)
    [replica] = service._renders.replica_actors()
    ray.kill(ray.get_actor(replica, namespace="serve"), no_restart=False)
    result = await ticket.result()  # tried once more on the replica Serve put in its place
    assert result.composition.request.seed == 5
    assert service.stats().worker_crashes == 1
    # A piece that kills every replica it is rendered on: one retry, then the user is told.
    with pytest.raises(EngineFailure, match="The audio renderer crashed while rendering your piece. Please try again."):
        await service.submit(compose(seed=6)).result()
    assert (await service.submit(compose(seed=7)).result()).composition.request.seed == 7


async def test_a_model_replica_that_dies_fails_only_the_job_that_killed_it(make_ray_service):
    service = await make_ray_service(batch_max=4, pipeline_depth=4, per_user_cap=4, faults=FakeFaults(model_dies={2}))
    good = service.submit(compose(seed=1))
    bad = service.submit(compose(seed=2))
    assert (await good.result()).composition.request.seed == 1
    with pytest.raises(EngineFailure, match="The composer crashed while writing your piece"):
        await bad.result()
    assert service.stats().model_crashes >= 1
    assert (await service.submit(compose(seed=3)).result()).composition.request.seed == 3


async def test_errors_the_user_can_cause_are_explained(ray_cluster):
    with pytest.raises(EngineFailure, match="needs ray_address"):
        connect("")
    with pytest.raises(EngineFailure, match="is not host:port"):
        connect("127.0.0.1")
    with pytest.raises(EngineFailure, match="Ray Client address"):
        connect("ray://127.0.0.1:10001")
    with pytest.raises(EngineFailure, match=r"Could not reach the Ray cluster at 127.0.0.1:1 .*ray start --head --port=1"):
        connect("127.0.0.1:1")


async def test_the_bot_starts_its_engine_on_ray_and_composes_with_the_shipped_model(ray_cluster, tmp_path):
    """bot.engine.start_engine with engine_backend = "ray": the real Composer on a model replica, the real
    renderer (FluidSynth, ffmpeg, the piano roll) on a render replica."""
    from bot.config import Settings
    from bot.engine import start_engine
    from storage import Storage

    settings = Settings(engine_backend="ray", ray_address=ray_cluster, ray_app_name="bot", render_workers=1, data_dir=tmp_path)
    storage = await Storage.open(settings.database_path, settings.media_dir)
    try:
        service = (await start_engine(settings, storage)).service
        try:
            request = ComposeRequest(style="jazz", mood="calm", bars=8, seed=3)
            result = await service.submit(EngineJob.compose(request, user_key="g:u")).result()
        finally:
            await service.stop()
        assert service.model_version.startswith("base-") and result.composition.model_version == service.model_version
        assert result.track.midi.startswith(b"MThd") and len(result.track.mp3) > 10_000 and result.track.png.startswith(b"\x89PNG")
        assert result.track.duration_seconds > 5
        assert (await storage.models.active()).version == service.model_version
    finally:
        await storage.close()


async def test_rendering_scales_out_while_renders_queue(make_ray_service):
    """render_replicas=1, render_max_replicas=2: Serve's autoscaler adds the second replica under load."""
    service = await make_ray_service(render_replicas=1, render_max_replicas=2, per_user_cap=10, render_cpus=0.25,
                                     faults=FakeFaults(render_seconds={i: 1 for i in range(10)}))
    assert len(service._renders.replica_actors()) == 1
    tickets = [service.submit(compose(f"g:{i}", seed=i)) for i in range(10)]
    seen = 1
    while not all(t.done() for t in tickets):
        seen = max(seen, len(service._renders.replica_actors()))
        await asyncio.sleep(0.2)
    results = await asyncio.gather(*(t.result() for t in tickets))
    assert [r.composition.request.seed for r in results] == list(range(10))
    assert seen == 2


def test_settings_select_the_backend_and_explain_a_missing_or_bad_address():
    from pydantic import ValidationError

    from bot.config import Settings

    assert Settings().engine_backend == "local"  # the default: `make run` is unchanged
    assert Settings(engine_backend="ray", ray_address="127.0.0.1:6379").ray_address == "127.0.0.1:6379"
    with pytest.raises(ValidationError, match="needs ray_address"):
        Settings(engine_backend="ray")
    with pytest.raises(ValidationError, match="is not host:port"):
        Settings(engine_backend="ray", ray_address="head-node")
    with pytest.raises(ValidationError, match="'local' or 'ray'"):
        Settings(engine_backend="cluster")


async def test_asking_for_a_gpu_the_cluster_lacks_is_refused_with_the_setting_to_change(ray_cluster):
    service = ray_engine_service(None, None, address=ray_cluster, app_name="gpu", model_gpus=1.0, model_cpus=0.5, render_cpus=0.5,
                                 composer_factory=fake_composer, render_fn=fake_render)
    with pytest.raises(EngineFailure, match=r"the model needs 1 GPU .* the Ray cluster has 0 in all; add a node with them or lower ray_model_gpus"):
        await service.start()


async def test_a_hung_model_replica_is_replaced_and_the_next_piece_is_made(make_ray_service):
    service = await make_ray_service(timeout_s=2.0, faults=FakeFaults(model_hangs={1}))
    with pytest.raises(EngineTimeout, match="took longer than 2 s"):
        await service.submit(compose(seed=1)).result()
    result = await service.submit(compose(seed=2)).result()  # on the replica Serve put in the hung one's place
    assert result.composition.request.seed == 2
    assert service.stats().model_hangs == 1
