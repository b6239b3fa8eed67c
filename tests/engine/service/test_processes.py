"""Workers die with the process that owns them (the parent-pid watchdog, and prctl's parent-death signal) and
yield the CPU to it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from engine.service.processes import WORKER_NICENESS, die_with_parent, pid_alive, start_worker
from tests.helpers.processes import is_running, wait_until_gone

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _nice_value() -> int:
    return os.nice(0)


async def test_an_engine_worker_runs_at_a_lower_priority_than_the_bot() -> None:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker, initargs=(os.getpid(),))
    try:
        assert await asyncio.wrap_future(pool.submit(_nice_value)) == min(19, os.nice(0) + WORKER_NICENESS)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def test_a_worker_exits_when_the_process_that_owns_it_dies() -> None:
    owner = subprocess.Popen(["sleep", "600"])  # stands in for the bot; the worker's own parent stays alive
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent, initargs=(owner.pid,))
    try:
        worker = await asyncio.wrap_future(pool.submit(os.getpid))
        assert is_running(worker)
        owner.kill()
        owner.wait()
        assert not await wait_until_gone({worker}, timeout=30)
    finally:
        owner.kill()
        pool.shutdown(wait=True, cancel_futures=True)


async def test_a_child_that_asked_for_the_parent_death_signal_dies_with_its_parent() -> None:
    # A parent shell starts a python child that asks for SIGKILL on its parent's death, then the shell is killed.
    child_code = "from engine.service.processes import request_parent_death_signal as r; import sys, time; print(r(), flush=True); time.sleep(600)"
    parent = await asyncio.create_subprocess_exec(
        "sh", "-c", f'"{sys.executable}" -c "{child_code}" & echo $!; wait',
        stdout=asyncio.subprocess.PIPE, cwd=os.getcwd(),
    )  # fmt: skip
    assert parent.stdout is not None
    child = int((await parent.stdout.readline()).decode())
    try:
        assert (await parent.stdout.readline()).strip() == b"True"
        parent.kill()
        await parent.wait()
        assert not await wait_until_gone({child}, timeout=30)
    finally:
        if is_running(child):
            os.kill(child, 9)


def test_pid_alive_counts_a_zombie_as_gone() -> None:
    process = subprocess.Popen(["true"])
    while is_running(process.pid):  # wait until it has exited but is not yet reaped: a zombie
        time.sleep(0.01)
    assert not pid_alive(process.pid)
    process.wait()
    assert pid_alive(os.getpid())
