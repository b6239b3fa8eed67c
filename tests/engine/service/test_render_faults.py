"""Render worker failures: the affected job gets a clear error, the worker is replaced, nothing else is lost."""

import asyncio
import os
import signal
from pathlib import Path

import pytest

from engine.request import ComposeRequest
from engine.service import EngineFailure, EngineJob, EngineTimeout
from tests.helpers.service_fakes import FakeFaults

FAULTY = 13  # the seed of the request a test's faults hit


def compose(user: str, seed: int | None = None) -> EngineJob:
    return EngineJob.compose(ComposeRequest(seed=seed), user_key=user)


async def wait_for(predicate, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_worker_killed_mid_job_fails_that_job_and_the_next_one_succeeds(make_service, tmp_path: Path):
    marker = tmp_path / "pid"
    service = await make_service(faults=FakeFaults(pid_files={FAULTY: str(marker)}))
    victim = service.submit(compose("g:a", FAULTY))
    waiting = service.submit(compose("g:b"))  # queued behind it on the only worker
    await wait_for(marker.exists)
    pid = int(marker.read_text())
    assert pid in service.render_worker_pids()
    os.kill(pid, signal.SIGKILL)

    with pytest.raises(EngineFailure, match="renderer crashed"):
        await victim.result()
    assert (await waiting.result()).track.mp3
    assert (await service.submit(compose("g:a")).result()).track.mp3
    stats = service.stats()
    assert stats.worker_crashes == 1 and stats.worker_restarts == 1
    assert pid not in service.render_worker_pids()


async def test_a_crashing_job_does_not_take_down_jobs_on_other_workers(make_service):
    service = await make_service(render_workers=2, faults=FakeFaults(render_seconds={1: 0.5}, renderer_dies={FAULTY}))
    slow = service.submit(compose("g:a", 1))
    crash = service.submit(compose("g:b", FAULTY))
    with pytest.raises(EngineFailure, match="renderer crashed"):
        await crash.result()
    assert (await slow.result()).track.mp3
    await wait_for(lambda: service.stats().worker_restarts == 1)
    assert len(service.render_worker_pids()) == 2


async def test_an_exception_in_the_renderer_is_reported_and_the_worker_kept(make_service):
    service = await make_service(faults=FakeFaults(renderer_raises={FAULTY}))
    pids = service.render_worker_pids()
    with pytest.raises(EngineFailure, match=r"while rendering your piece \(ValueError\)"):
        await service.submit(compose("g:a", FAULTY)).result()
    assert (await service.submit(compose("g:a")).result()).track.mp3
    assert service.render_worker_pids() == pids and service.stats().worker_restarts == 0


async def test_a_hung_render_is_killed_at_the_time_limit(make_service):
    service = await make_service(timeout_s=0.5, faults=FakeFaults(render_seconds={FAULTY: 30}))
    with pytest.raises(EngineTimeout):
        await service.submit(compose("g:a", FAULTY)).result()
    await wait_for(lambda: service.stats().worker_hangs == 1 and service.stats().worker_restarts == 1)
    assert (await service.submit(compose("g:a")).result()).track.mp3


async def test_a_lone_piece_draws_its_picture_on_a_second_idle_worker(make_service):
    from engine.service.render_worker import RenderFunctions
    from tests.helpers.service_fakes import fake_picture, fake_render, fake_sound

    service = await make_service(render_workers=2, per_user_cap=2, render_fn=RenderFunctions(fake_render, fake_sound, fake_picture))
    result = await service.submit(compose("g:a")).result()
    sound_pid, picture_pid = result.track.arrangement, int(result.track.png.split(b":")[1])
    assert sound_pid != picture_pid and {sound_pid, picture_pid} == set(service.render_worker_pids())
    assert result.timings.picture == 0.003 and result.timings.render == 0.002
    # Two pieces from one batch keep a worker each: nothing is split.
    pair = [service.submit(compose("g:a")), service.submit(compose("g:b"))]
    for ticket in pair:
        assert (await ticket.result()).track.png == b"png"
    assert service.stats().split_renders == 1


async def test_a_worker_killed_while_idle_costs_nobody_their_piece(make_service):
    service = await make_service(render_workers=2)
    pids = service.render_worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    await wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids))  # reaped
    await asyncio.sleep(0.2)  # and noticed by their executors
    assert (await service.submit(compose("g:a")).result()).track.mp3
    await wait_for(lambda: service.stats().worker_restarts == 2)
    assert service.stats().worker_crashes == 2 and service.stats().failed == 0


async def test_a_renderer_that_cannot_start_says_why():
    from engine.service import EngineService
    from tests.helpers.service_fakes import fake_composer

    service = EngineService(None, Path("/nonexistent/soundfont.sf2"), render_workers=1, composer_factory=fake_composer)
    with pytest.raises(EngineFailure, match="The audio renderer could not start: SoundFont /nonexistent/soundfont.sf2 not found"):
        await service.start()
