"""`tunesmith run --shards N`: N shard processes in one process tree, stopped with the parent however it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path

import pytest
from discord.gateway import KeepAliveHandler

import bot.runner
from bot.client import ShardedTunesmithBot
from bot.config import PROJECT_ROOT, Settings
from bot.playground import Playground
from bot.runner import run_bot
from tests.helpers.bot import make_settings
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
        # The shards share the parent's stderr, and the parent's wait ends only when they have closed it: read it all.
        rest = asyncio.create_task(process.stderr.read())  # type: ignore[union-attr]
        process.send_signal(signum)
        # SIGTERM: the parent stops each shard cleanly; SIGKILL: each shard gets SIGTERM from the kernel.
        if left := await wait_until_gone(children, timeout=60):
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            text = "".join(log) + (await asyncio.wait_for(rest, 60)).decode()
            raise AssertionError(f"shard processes {sorted(left)} still ran 60 s after the parent's {signum.name}:\n{text[-8000:]}")
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = "".join(log) + (await asyncio.wait_for(rest, 60)).decode()
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


async def test_a_shard_stopped_in_its_gateway_handshake_stops_without_an_error(
    tmp_path: Path, playground: Playground, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The handshake is held until the stop has closed the bot's HTTP session, where CI once caught it by chance:
    # discord.py then logged "Failed to connect for shard_id: 0. Retrying..." with a traceback.
    identifying, http_closed = asyncio.Event(), asyncio.Event()
    made: list[ShardedTunesmithBot] = []

    class HeldInHandshake(ShardedTunesmithBot):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)
            close_http = self.http.close

            async def close_and_tell() -> None:
                await close_http()
                http_closed.set()

            self.http.close = close_and_tell  # type: ignore[method-assign]

        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
            identifying.set()
            await http_closed.wait()

    monkeypatch.setattr(bot.runner, "bot_class", lambda settings: HeldInHandshake)
    settings: Settings = make_settings(tmp_path / "data", enabled_cogs=["plugins"], shard_count=2, shard_ids=(0,))
    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(settings, playground_url=playground.url, playground_token=playground.bot_token, stop=stop))
    await asyncio.wait_for(identifying.wait(), 30)
    stop.set()
    assert await asyncio.wait_for(running, 30) == 0
    await asyncio.sleep(0.2)  # a connect left running would fail here, on the closed session
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    # The half-made connection's heartbeat thread (started at HELLO) stops too: left running, it fires on a closed loop.
    heartbeats = [t for t in threading.enumerate() if isinstance(t, KeepAliveHandler) and t.ws._connection is made[0]._connection]
    for thread in heartbeats:
        thread.join(5)
    assert not [t for t in heartbeats if t.is_alive()]


async def test_a_stop_while_a_shard_reconnects_before_ready_ends_the_connect(
    tmp_path: Path, playground: Playground, monkeypatch: pytest.MonkeyPatch
) -> None:
    # discord.py's sharded connect swallows a cancel that lands in a shard's reconnect (Shard.reidentify returns on
    # CancelledError) and then waits on its event queue for ever: in CI a shard whose parent was killed never stopped.
    reconnecting = asyncio.Event()

    class ReconnectsBeforeReady(ShardedTunesmithBot):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            ws_connect, connects = self.http.ws_connect, 0

            async def the_second_hangs(url: str, **options: object) -> object:
                nonlocal connects
                connects += 1
                if connects > 1:  # the reconnect after the drop: a network that does not answer
                    reconnecting.set()
                    await asyncio.Event().wait()
                return await ws_connect(url, **options)

            self.http.ws_connect = the_second_hangs  # type: ignore[method-assign]

        # READY counts as not come yet (a big bot's servers still streaming in), so the stop finds it connecting.
        def is_ready(self) -> bool:
            return False

        async def wait_until_ready(self) -> None:
            await asyncio.Event().wait()

        async def on_connect(self) -> None:
            await playground.drop_gateway(resumable=False)

    monkeypatch.setattr(bot.runner, "bot_class", lambda settings: ReconnectsBeforeReady)
    settings: Settings = make_settings(tmp_path / "data", enabled_cogs=["plugins"], shard_count=2, shard_ids=(0,))
    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(settings, playground_url=playground.url, playground_token=playground.bot_token, stop=stop))
    try:
        await asyncio.wait_for(reconnecting.wait(), 30)
        stop.set()
        assert await asyncio.wait_for(asyncio.shield(running), 30) == 0
    finally:
        running.cancel()
