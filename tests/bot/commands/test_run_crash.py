"""`kill -9` of a running `tunesmith run`: its model process, render workers and forkserver die with it."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from tests.bot.commands.test_run_command import _read_url, clean_env
from tests.helpers.processes import command_line, descendants, wait_until_gone

pytestmark = [pytest.mark.timeout(600), pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


async def test_sigkill_of_the_bot_takes_its_workers_with_it(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env["TUNESMITH_START_ENGINE"] = "true"
    env["TUNESMITH_RENDER_WORKERS"] = "2"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--port", "0",
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.wait_for(_read_url(process), timeout=480)  # printed once the engine has started
        workers = descendants(process.pid)
        described = {pid: command_line(pid) for pid in workers}
        # The model process, two render workers and the forkserver (the resource tracker may join them).
        assert len(workers) >= 4, described
        assert any("forkserver" in line for line in described.values()), described
        process.send_signal(signal.SIGKILL)
        await process.wait()
        left = await wait_until_gone(workers, timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not left, {pid: described[pid] for pid in left}
