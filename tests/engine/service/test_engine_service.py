import asyncio
import os
import signal
from pathlib import Path

import pytest

from engine.music import Piece
from engine.request import ComposeRequest, EngineInputError
from engine.service import EngineBusy, EngineFailure, EngineJob, EngineTimeout, JobKind
from tests.helpers.service_fakes import FakeFaults, fake_composer, only_default_model


def compose(user: str = "g:u", **request) -> EngineJob:
    return EngineJob.compose(ComposeRequest(**request), user_key=user)


def generate_call_size(result) -> int:
    return int(result.composition.latent[1])  # the fake records the size of the generate() call


async def test_requests_submitted_together_share_one_model_call(make_service):
    service = await make_service(batch_max=8, pipeline_depth=8, per_user_cap=8)
    tickets = [service.submit(compose(seed=i)) for i in range(8)]
    results = await asyncio.gather(*(t.result() for t in tickets))
    assert [generate_call_size(r) for r in results] == [8] * 8
    assert [r.composition.request.seed for r in results] == list(range(8))
    assert all(r.timings.batch_size == 8 for r in results)
    assert service.stats().batches_run == 1 and service.stats().mean_batch_size == 8


async def test_batch_is_capped_at_batch_max(make_service):
    service = await make_service(batch_max=3, pipeline_depth=8, per_user_cap=8)
    results = await asyncio.gather(*(service.submit(compose(seed=i)).result() for i in range(7)))
    assert max(generate_call_size(r) for r in results) == 3
    assert service.stats().batches_run == 3


async def test_heavy_user_does_not_delay_a_single_job_behind_all_of_theirs(make_service):
    service = await make_service(model_delay_s=0.01, pipeline_depth=1, per_user_cap=10)
    finished: list[str] = []
    heavy = [service.submit(compose("g:heavy", seed=i)) for i in range(10)]
    light = service.submit(compose("g:light", seed=99))
    assert light.position() == 2
    for ticket, name in [(t, "heavy") for t in heavy] + [(light, "light")]:
        ticket._entry.future.add_done_callback(lambda _, name=name: finished.append(name))
    await asyncio.gather(*(t.result() for t in heavy + [light]))
    assert finished.index("light") <= 1


async def test_positions_count_down_to_zero(make_service):
    service = await make_service(model_delay_s=0.02, pipeline_depth=1)
    tickets = [service.submit(compose(f"g:{i}", seed=i)) for i in range(4)]
    assert [t.position() for t in tickets] == [1, 2, 3, 4]
    seen = [position async for position in tickets[-1].positions()]
    assert seen[0] == 4 and seen[-1] == 0
    assert all(a > b for a, b in zip(seen, seen[1:]))
    assert tickets[-1].done()


async def test_full_queue_raises_busy_with_a_retry_estimate(make_service):
    service = await make_service(model_delay_s=0.2, queue_cap=2, per_user_cap=2)
    service.submit(compose("g:a"))
    service.submit(compose("g:b"))
    with pytest.raises(EngineBusy) as busy:
        service.submit(compose("g:c"))
    assert busy.value.retry_after_s >= 1
    assert f"try again in {busy.value.retry_after_s} second" in str(busy.value)
    assert service.stats().rejected_busy == 1


async def test_a_user_over_their_share_is_told_how_many_they_have(make_service):
    service = await make_service(model_delay_s=0.2, per_user_cap=1)
    service.submit(compose("g:a"))
    with pytest.raises(EngineBusy, match="You already have 1 piece on the way"):
        service.submit(compose("g:a"))
    service.submit(compose("g:b"))  # other users are unaffected


async def test_cancel_a_queued_job_and_a_running_one(make_service):
    service = await make_service(model_delay_s=0.2, pipeline_depth=1)
    running = service.submit(compose("g:a"))
    queued = service.submit(compose("g:b"))
    after = service.submit(compose("g:c"))
    await asyncio.sleep(0.05)  # the first job is now in the model
    assert queued.cancel() and running.cancel()
    assert not queued.cancel()  # already cancelled
    for ticket in (queued, running):
        with pytest.raises(asyncio.CancelledError):
            await ticket.result()
    assert after.position() == 1
    assert (await after.result()).track.midi
    assert service.stats().cancelled == 2


async def test_a_job_over_the_time_limit_fails_with_a_timeout(make_service):
    service = await make_service(model_delay_s=0.6, timeout_s=0.2)
    ticket = service.submit(compose())
    with pytest.raises(EngineTimeout, match="longer than"):
        await ticket.result()
    assert service.stats().timed_out == 1


async def test_a_failing_model_call_fails_only_the_poisoned_request(make_service):
    service = await make_service(pipeline_depth=3, per_user_cap=3, faults=FakeFaults(model_raises={13}))
    good = [service.submit(compose(seed=1)), service.submit(compose(seed=2))]
    bad = service.submit(compose(seed=13))
    with pytest.raises(EngineFailure, match=r"Something went wrong while writing your piece \(RuntimeError\)"):
        await bad.result()
    results = [await t.result() for t in good]
    assert [r.composition.request.seed for r in results] == [1, 2]
    assert [generate_call_size(r) for r in results] == [1, 1]  # the batch failed; each request was retried alone
    assert service.stats().batches_run == 1


async def test_a_request_that_crashes_the_model_fails_alone_and_the_model_is_restarted(make_service):
    service = await make_service(per_user_cap=3, pipeline_depth=3, faults=FakeFaults(model_dies={13}))
    first_pid = service.model_pid()
    good = [service.submit(compose(seed=1)), service.submit(compose(seed=2))]
    crasher = service.submit(compose(seed=13))
    with pytest.raises(EngineFailure, match="composer crashed"):
        await crasher.result()
    results = [await t.result() for t in good]
    assert [generate_call_size(r) for r in results] == [1, 1]  # retried one by one in a fresh process
    assert service.stats().model_crashes == 2  # the batch, then the crasher on its own
    assert service.model_pid() != first_pid and service.model_version == "v1"


async def test_a_model_process_killed_while_idle_is_replaced_without_failing_anyone(make_service):
    service = await make_service()
    os.kill(service.model_pid(), signal.SIGKILL)
    assert (await service.submit(compose(seed=5)).result()).composition.request.seed == 5
    assert service.stats().model_crashes == 1 and service.stats().failed == 0


async def test_a_hung_model_is_killed_at_the_time_limit_and_restarted(make_service):
    service = await make_service(timeout_s=0.5, faults=FakeFaults(model_hangs={13}))
    hung_pid = service.model_pid()
    with pytest.raises(EngineTimeout):
        await service.submit(compose(seed=13)).result()
    # The next job goes to the restarted process; wait for it, so a loaded machine's slow start-up is not
    # counted against the job's own half-second limit.
    for _ in range(600):
        if service.model_pid() != hung_pid:
            break
        await asyncio.sleep(0.05)
    assert (await service.submit(compose(seed=4)).result()).composition.request.seed == 4
    assert service.stats().model_hangs == 1


async def test_swap_model_takes_effect_between_batches(make_service):
    service = await make_service(model_delay_s=0.2)
    first = service.submit(compose("g:a"))
    await asyncio.sleep(0.05)  # the first batch is running on v1
    assert await service.swap_model(Path("models/v2")) == "v2"
    second = service.submit(compose("g:b"))
    assert (await first.result()).composition.model_version == "v1"
    assert (await second.result()).composition.model_version == "v2"
    assert service.model_version == "v2"


async def test_a_model_that_fails_to_load_leaves_the_current_one_active(make_service):
    service = await make_service(composer_factory=only_default_model)
    with pytest.raises(EngineFailure, match="Could not load the model at missing.pt: No model checkpoint at missing.pt"):
        await service.swap_model(Path("missing.pt"))
    assert service.model_version == "v1"
    assert (await service.submit(compose()).result()).composition.model_version == "v1"


async def test_regenerate_with_the_same_seed_gives_identical_midi(make_service):
    service = await make_service(per_user_cap=2)
    request = ComposeRequest(style="jazz", mood="calm", seed=1234)
    original = service.submit(EngineJob.compose(request))
    again = service.submit(EngineJob.regenerate(request))
    assert (await original.result()).track.midi == (await again.result()).track.midi


async def test_edits_run_through_the_composer(make_service):
    service = await make_service(per_user_cap=5, pipeline_depth=5)
    base = await service.submit(compose(seed=5, bars=8)).result()
    piece: Piece = base.composition.piece
    request = ComposeRequest(seed=6)
    jobs = [
        EngineJob.variation(base.composition, request, strength=0.5),
        EngineJob.restyle(piece, "bossa nova", request),
        EngineJob.remood(piece, "melancholic", request),
        EngineJob.extend(piece, 4, request),
        EngineJob.continue_piece(piece, 4, request),
    ]
    assert [j.target for j in jobs[1:3]] == ["latin", "sad"]
    results = await asyncio.gather(*(service.submit(job).result() for job in jobs))
    assert [r.composition.piece.name for r in results] == ["variation", "restyle", "remood", "continue", "continue"]
    assert results[1].composition.request.style == "latin"
    assert results[3].composition.piece.bars == 12
    assert results[3].composition.piece.melody[: len(piece.melody)] == piece.melody
    assert results[4].composition.piece.bars == 12


def test_bad_input_is_refused_before_queueing_with_a_message_for_the_user():
    piece = Piece(bars=30)
    with pytest.raises(EngineInputError, match="Unknown style 'polka'"):
        EngineJob.compose(ComposeRequest(style="polka"))
    with pytest.raises(EngineInputError, match="Unknown mood"):
        EngineJob.remood(piece, "grumpy", ComposeRequest())
    with pytest.raises(EngineInputError, match="the most is 32"):
        EngineJob.extend(piece, 4, ComposeRequest())
    with pytest.raises(EngineInputError, match="Add between 4 and 32 bars"):
        EngineJob.continue_piece(b"MThd", 2, ComposeRequest())
    with pytest.raises(EngineInputError, match="strength"):
        EngineJob.variation(None, ComposeRequest(), strength=2.0)
    with pytest.raises(ValueError, match="seed"):
        EngineJob.regenerate(ComposeRequest())
    assert EngineJob.regenerate(ComposeRequest(seed=1)).kind is JobKind.REGENERATE


async def test_stop_fails_queued_jobs_finishes_running_ones_and_refuses_new_ones(make_service):
    service = await make_service(model_delay_s=0.2, pipeline_depth=1)
    running = service.submit(compose("g:a"))
    queued = service.submit(compose("g:b"))
    await asyncio.sleep(0.05)
    await service.stop()
    assert (await running.result()).track.mp3
    with pytest.raises(EngineFailure, match="restarting"):
        await queued.result()
    with pytest.raises(EngineFailure, match="restarting"):
        service.submit(compose("g:c"))


async def test_stop_fails_jobs_that_outlast_the_drain_period(make_service):
    service = await make_service(model_delay_s=0.5, drain_timeout_s=0.05)
    running = service.submit(compose())
    await asyncio.sleep(0.05)
    await service.stop()
    with pytest.raises(EngineFailure, match="restarting"):
        await running.result()


async def test_positions_end_when_a_queued_job_is_cancelled(make_service):
    service = await make_service(model_delay_s=0.3, pipeline_depth=1)
    service.submit(compose("g:a"))
    waiting = service.submit(compose("g:b"))
    seen = []

    async def follow() -> None:
        async for position in waiting.positions():
            seen.append(position)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.wait_for(follower, 1.0)
    assert seen == [1, 0]
