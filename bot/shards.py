"""`tunesmith run --shards N`: N bot processes on this host, one gateway shard each, as one process tree.

The parent starts the playground (without a Discord token) or nothing (with one), then one child per shard:
`tunesmith run --shard-child` with `shard_count = N`, `shard_ids = i` and its own `ray_app_name`
(`<ray_app_name>-shard<i>`). All children share the parent's settings, so one database and one media folder.
Children die with the parent: each asks Linux for SIGTERM when the parent dies (PR_SET_PDEATHSIG), so even a
parent killed with SIGKILL leaves no bot behind, and SIGINT/SIGTERM on the parent stops every child cleanly.
A child that crashes after it was up is started again; one that fails at start stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.runner import RunError, Target, _install_signal_handlers, choose_target

log = logging.getLogger(__name__)

PLAYGROUND_TOKEN_ENV = "TUNESMITH_SHARD_PLAYGROUND_TOKEN"  # read by --shard-child, never a setting
DISCORD_IDENTIFY_INTERVAL_S = 5.5  # Discord allows one IDENTIFY per 5 s for a bot (max_concurrency 1)
CHILD_STOP_GRACE_S = 60.0
RESTART_ONLY_AFTER_UP_S = 10.0  # a child that dies sooner than this after starting is a start-up failure
RESTART_DELAY_S = 1.0


def _child_preexec() -> None:
    from engine.service.processes import request_parent_death_signal

    request_parent_death_signal(signal.SIGTERM)  # a clean stop when the parent dies, even by SIGKILL


def shard_environment(settings: Settings, shard_id: int, shard_count: int, *, playground_url: str | None, playground_token: str | None) -> dict[str, str]:
    """The environment of shard `shard_id`'s process: the parent's, plus its shard and its own Serve applications."""
    env = dict(os.environ)
    env["TUNESMITH_SHARD_COUNT"] = str(shard_count)
    env["TUNESMITH_SHARD_IDS"] = str(shard_id)
    env["TUNESMITH_RAY_APP_NAME"] = f"{settings.ray_app_name}-shard{shard_id}"
    # Every child must use the parent's folders even when they came from defaults relative to the working directory.
    env["TUNESMITH_DATA_DIR"] = str(settings.data_dir.resolve())
    env["TUNESMITH_MEDIA_DIR"] = str(settings.media_dir.resolve())  # type: ignore[union-attr]
    env.pop(PLAYGROUND_TOKEN_ENV, None)
    if playground_url is not None:
        assert playground_token is not None
        env[PLAYGROUND_TOKEN_ENV] = playground_token
    return env


@dataclass
class ShardProcess:
    shard_id: int
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    exits: list[int] = field(default_factory=list)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(*self.argv, env=self.env, preexec_fn=_child_preexec, start_new_session=True)
        self.started_at = time.monotonic()
        log.info("Shard process started", extra={"shard": self.shard_id, "pid": self.process.pid})

    async def stop(self, grace: float) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("Shard process did not stop in time; killing it", extra={"shard": self.shard_id, "pid": process.pid})
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def run_shards(
    settings: Settings,
    shards: int,
    target: Target = Target.AUTO,
    *,
    host: str | None = None,
    port: int | None = None,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> int:
    """Run `shards` bot processes until `stop` (by default SIGINT/SIGTERM); returns the exit code."""
    if shards < 1:
        raise RunError("--shards must be 1 or more.")
    if settings.shard_count is not None or settings.shard_ids:
        raise RunError("--shards sets shard_count and shard_ids for each process itself: leave those settings out.")
    target = choose_target(settings, target)
    if stop is None:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
    async with contextlib.AsyncExitStack() as stack:
        playground_url = playground_token = None
        identify_gap = DISCORD_IDENTIFY_INTERVAL_S
        if target is Target.PLAYGROUND:
            from bot.playground import Playground

            playground = Playground(host=host or settings.playground_host, port=settings.playground_port if port is None else port)
            try:
                await playground.start()
            except OSError as exc:
                raise RunError(f"The playground cannot listen on {playground.host}:{playground.port} ({exc.strerror or exc}). "
                               "Choose another port with --port or TUNESMITH_PLAYGROUND_PORT.") from None
            stack.push_async_callback(playground.stop)
            playground_url, playground_token, identify_gap = playground.url, playground.bot_token, 0.0
        children = []
        for shard_id in range(shards):
            argv = [sys.executable, "-m", "bot.cli", "run", "--shard-child"]
            if playground_url is not None:
                argv += ["--playground-url", playground_url]
            else:
                argv += ["--discord"]
            env = shard_environment(settings, shard_id, shards, playground_url=playground_url, playground_token=playground_token)
            children.append(ShardProcess(shard_id, argv, env))
        try:
            for i, child in enumerate(children):
                if i and identify_gap:
                    await asyncio.sleep(identify_gap)
                await child.start()
            if playground_url is not None:
                announce(f"Open {playground_url} to try Tunesmith ({shards} shards)")
            else:
                announce(f"Started {shards} shards")
            return await _supervise(children, stop)
        finally:
            await asyncio.gather(*(child.stop(max(CHILD_STOP_GRACE_S, settings.shutdown_grace_seconds + 15)) for child in children))


async def _supervise(children: list[ShardProcess], stop: asyncio.Event) -> int:
    """Wait for `stop`, restarting a child that crashes after it was up; a child that fails at start stops all."""
    stopping = asyncio.create_task(stop.wait())
    try:
        while True:
            waits = {asyncio.create_task(c.process.wait()): c for c in children if c.process is not None}  # type: ignore[union-attr]
            done, pending = await asyncio.wait({stopping, *waits}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending - {stopping}:
                task.cancel()
            if stopping in done:
                return 0
            for task in done:
                child = waits[task]
                code = task.result()
                child.exits.append(code)
                up = time.monotonic() - child.started_at
                if up < RESTART_ONLY_AFTER_UP_S:
                    log.error("A shard process stopped at start; stopping every shard", extra={"shard": child.shard_id, "code": code})
                    return code or 1
                log.warning("A shard process stopped; starting it again", extra={"shard": child.shard_id, "code": code, "up_s": round(up, 1)})
                await asyncio.sleep(RESTART_DELAY_S)
                child.restarts += 1
                await child.start()
    finally:
        stopping.cancel()


__all__ = ["PLAYGROUND_TOKEN_ENV", "ShardProcess", "run_shards", "shard_environment"]
