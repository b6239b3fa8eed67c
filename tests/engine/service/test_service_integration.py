"""The service on the real Composer and render_track: one batch, two finished tracks, reproducible MIDI.

Skipped when there is no checkpoint (the shipped one, or TUNESMITH_TEST_CHECKPOINT) or audio cannot be rendered here.
"""

import asyncio
import os
from pathlib import Path

import pytest

from engine.request import ComposeRequest
from engine.service import EngineJob, EngineService

pytest.importorskip("engine.generate")
render = pytest.importorskip("engine.render")
checkpoint_module = pytest.importorskip("engine.checkpoint")

CHECKPOINT = Path(os.environ.get("TUNESMITH_TEST_CHECKPOINT") or checkpoint_module.SHIPPED_CHECKPOINT)

pytestmark = [
    pytest.mark.skipif(not CHECKPOINT.is_file(), reason=f"no model checkpoint at {CHECKPOINT}"),
    pytest.mark.skipif(bool(render.check_render_dependencies()), reason="audio rendering dependencies missing"),
]


async def test_real_composer_and_renderer_through_the_service():
    request = ComposeRequest(style="jazz", mood="calm", bars=4, seed=11)
    async with EngineService(CHECKPOINT, render_workers=1, pipeline_depth=3, per_user_cap=3) as service:
        tickets = [
            service.submit(EngineJob.compose(request, user_key="g:a")),
            service.submit(EngineJob.compose(ComposeRequest(style="rock", mood="energetic", bars=4, seed=12), user_key="g:a")),
            service.submit(EngineJob.regenerate(request, user_key="g:b")),
        ]
        first, other, again = await asyncio.gather(*(t.result() for t in tickets))
        stats = service.stats()
    assert stats.batches_run == 1 and stats.completed == 3
    assert first.composition.model_version == service.model_version
    assert first.composition.request.style == "jazz" and first.composition.piece.bars == 4
    assert first.track.midi.startswith(b"MThd") and first.track.png.startswith(b"\x89PNG")
    assert len(first.track.mp3) > 1000 and first.track.duration_seconds > 1
    assert again.track.midi == first.track.midi  # same seed, same model: the same piece
    assert other.track.midi != first.track.midi
    assert {"queue", "generate", "arrange", "render", "encode", "picture", "total"} <= set(first.timings.measured())
