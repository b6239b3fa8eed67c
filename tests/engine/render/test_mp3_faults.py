"""ffmpeg that hangs or fails, and a render worker killed while encoding: no process and no file is left behind.

The broken ffmpeg is a real program: a script placed before the real ffmpeg on PATH (the encoder runs the
first ffmpeg on PATH). The hanging one also starts a child, as a wrapper script around a real encoder would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from engine.arrange.examples import ii_v_i
from engine.render.mp3 import EncoderError, encode_mp3
from engine.service.errors import EngineFailure
from engine.service.render_pool import RenderPool
from engine.service.render_worker import RenderTask
from tests.helpers.processes import is_running, wait_until_gone
from tests.helpers.plans import plan_of

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

HANGING_FFMPEG = """#!/bin/sh
sleep 600 &
echo "$$ $!" > "{marks}/ffmpeg.pids"
wait
"""
# One process, as the real ffmpeg is: it records its pid, then never finishes.
STUCK_FFMPEG = """#!/bin/sh
echo "$$" > "{marks}/ffmpeg.pids"
exec sleep 600
"""
FAILING_FFMPEG = """#!/bin/sh
cat > /dev/null
echo "Unknown encoder 'libmp3lame'" >&2
exit 1
"""


def fake_ffmpeg(folder: Path, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ffmpeg"
    path.write_text(script)
    path.chmod(0o755)
    return path


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder this process and its children use, empty at the start."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def audio(seconds: float = 2.0) -> np.ndarray:
    return np.random.default_rng(0).uniform(-0.3, 0.3, (int(44100 * seconds), 2)).astype(np.float32)


def ffmpeg_pids(marks: Path) -> set[int]:
    return {int(p) for p in (marks / "ffmpeg.pids").read_text().split()}


def test_a_hanging_ffmpeg_is_stopped_with_its_children_and_leaves_no_file(tmp_path, temp_folder, monkeypatch):
    marks = tmp_path / "marks"
    on_path(monkeypatch, fake_ffmpeg(tmp_path / "bin", HANGING_FFMPEG.format(marks=marks)).parent)
    marks.mkdir()
    with pytest.raises(EncoderError, match="did not finish encoding within 2 s"):
        encode_mp3(audio(), timeout_s=2)
    pids = ffmpeg_pids(marks)
    assert len(pids) == 2
    assert not [p for p in pids if is_running(p)]
    assert list(temp_folder.iterdir()) == []


def test_a_failing_ffmpeg_is_a_clear_error_and_leaves_no_file(tmp_path, temp_folder, monkeypatch):
    on_path(monkeypatch, fake_ffmpeg(tmp_path / "bin", FAILING_FFMPEG).parent)
    with pytest.raises(EncoderError, match="ffmpeg could not encode the MP3: Unknown encoder 'libmp3lame'"):
        encode_mp3(audio())
    assert list(temp_folder.iterdir()) == []


def test_missing_ffmpeg_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EncoderError, match="ffmpeg was not found on PATH"):
        encode_mp3(audio())


def test_the_real_ffmpeg_leaves_no_file(temp_folder):
    assert encode_mp3(audio())[:3] == b"ID3"
    assert list(temp_folder.iterdir()) == []


@pytest.mark.timeout(300)
async def test_a_render_worker_killed_while_encoding_leaves_no_file_and_no_ffmpeg(tmp_path, temp_folder, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    on_path(monkeypatch, fake_ffmpeg(tmp_path / "bin", STUCK_FFMPEG.format(marks=marks)).parent)
    # spawn: the worker starts now, with this test's PATH and TMPDIR (a forkserver keeps the environment it began with).
    pool = RenderPool(1, split_picture=False, start_method="spawn")
    await pool.start()
    try:
        [worker] = pool.pids()
        piece = ii_v_i(bars=8, tempo=140)
        task = RenderTask(piece, plan_of(piece, "jazz", "happy", 1), 8 * 1024 * 1024)
        render = asyncio.create_task(pool.render(task))
        while not (marks / "ffmpeg.pids").exists():  # the worker has synthesised the audio and is encoding it
            assert not render.done(), render
            await asyncio.sleep(0.05)
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(EngineFailure, match="renderer crashed"):
            await render
        assert not await wait_until_gone(ffmpeg_pids(marks), timeout=30)
        assert list(temp_folder.iterdir()) == []
    finally:
        await pool.close()
