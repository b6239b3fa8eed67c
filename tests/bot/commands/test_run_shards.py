"""`tunesmith run --shards N`: N shard processes in one process tree, stopped with the parent however it stops."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from tests.bot.commands.test_run_command import clean_env
from tests.helpers.processes import command_line, descendants, wait_until_gone

URL = re.compile(r"Open (http://127\.0\.0\.1:\d+) to try Tunesmith \(2 shards\)")


def shard_env(tmp_path: Path) -> dict[str, str]:
    env = clean_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["TUNESMITH_START_ENGINE"] = "false"
    return env


async def _start(tmp_path: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--shards", "2", "--port", "0",
        cwd=PROJECT_ROOT, env=shard_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    while line := (await asyncio.wait_for(process.stdout.readline(), 60)).decode():
        if match := URL.search(line):
            return process, match.group(1)
    raise AssertionError(f"tunesmith run --shards exited ({await process.wait()}) without printing its URL")


async def _both_shards_up(process: asyncio.subprocess.Process, log: list[str]) -> None:
    assert process.stderr is not None
    wanted = {"shards 0 of 2", "shards 1 of 2"}
    while wanted:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        assert line, "".join(log)
        log.append(line)
        if "Bot set up" in line:  # before READY: a stop while connecting must work too
            wanted -= {w for w in wanted if w in line}


def _shard_children(pid: int) -> set[int]:
    return {p for p in descendants(pid) if "--shard-child" in command_line(p)}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
async def test_two_shard_processes_start_under_one_parent_and_die_with_it(tmp_path: Path, signum: signal.Signals) -> None:
    process, _url = await _start(tmp_path)
    log: list[str] = []
    try:
        await _both_shards_up(process, log)
        children = _shard_children(process.pid)
        assert len(children) == 2
        process.send_signal(signum)
        code = await asyncio.wait_for(process.wait(), 60)
        # SIGTERM: the parent stops each shard cleanly; SIGKILL: each shard gets SIGTERM from the kernel.
        assert await wait_until_gone(children, timeout=60) == set()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    rest = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    text = "".join(log) + rest
    if signum == signal.SIGTERM:
        assert code == 0, text
        assert text.count("Stopped") >= 2 and "Traceback" not in text
    else:
        assert code == -signal.SIGKILL


async def test_a_shard_process_that_dies_after_it_was_up_is_started_again(tmp_path: Path) -> None:
    from bot.shards import RESTART_ONLY_AFTER_UP_S

    process, _url = await _start(tmp_path)
    log: list[str] = []
    try:
        await _both_shards_up(process, log)
        before = _shard_children(process.pid)
        assert len(before) == 2
        await asyncio.sleep(RESTART_ONLY_AFTER_UP_S + 1)  # up long enough to count as a crash, not a failed start
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            now = _shard_children(process.pid)
            if len(now) == 2 and victim not in now:
                break
            await asyncio.sleep(0.2)
        assert len(now) == 2 and victim not in now and process.returncode is None
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert await wait_until_gone(now, timeout=60) == set()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
