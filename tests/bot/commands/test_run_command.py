"""`tunesmith run`: the playground and the bot in one process, stopped cleanly by a signal."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import PROJECT_ROOT
from bot.runner import RunError, Target, choose_target, run_bot
from storage import Storage
from tests.helpers.bot import make_settings

URL = re.compile(r"Open (http://127\.0\.0\.1:\d+) to try Tunesmith")


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNESMITH_") and k != "DISCORD_TOKEN"}
    env.update(
        TUNESMITH_CONFIG=str(tmp_path / "none.toml"),
        TUNESMITH_DATA_DIR=str(tmp_path / "data"),
        TUNESMITH_ENABLED_COGS='["plugins", "settings"]',
        NO_COLOR="1",
    )
    return env


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_run_starts_the_playground_prints_its_url_and_stops_cleanly_on_a_signal(tmp_path: Path, signum: signal.Signals) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--port", "0",
        cwd=PROJECT_ROOT, env=clean_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        url = await asyncio.wait_for(_read_url(process), timeout=60)
        async with aiohttp.ClientSession() as session, session.get(url) as page:
            assert page.status == 200
        process.send_signal(signum)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert code == 0, log
    assert "Command tree synced" in log and "Shutting down" in log and "Stopped" in log
    assert "Traceback" not in log


async def _read_url(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        if match := URL.search(line):
            return match.group(1)
    raise AssertionError(f"tunesmith run exited ({await process.wait()}) without printing its URL")


async def test_run_bot_in_process_marks_leftover_jobs_and_stops_when_told(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=["plugins"])
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        left = await storage.jobs.create("compose", {}, user_id=1)
    stop = asyncio.Event()
    lines: list[str] = []

    def announce(line: str) -> None:
        lines.append(line)
        stop.set()

    code = await asyncio.wait_for(run_bot(settings, Target.PLAYGROUND, port=0, announce=announce, stop=stop), timeout=30)
    assert code == 0
    assert URL.match(lines[0])
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        assert (await storage.jobs.get(left.id)).status == "interrupted"  # type: ignore[union-attr]


async def test_a_busy_port_is_explained(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(RunError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            await run_bot(make_settings(tmp_path), Target.PLAYGROUND, port=port, stop=asyncio.Event())
    finally:
        server.close()
        await server.wait_closed()


def test_the_target_follows_the_token(tmp_path: Path) -> None:
    without = make_settings(tmp_path)
    with_token = make_settings(tmp_path, discord_token="abc.def.ghi")
    assert choose_target(without, Target.AUTO) is Target.PLAYGROUND
    assert choose_target(with_token, Target.AUTO) is Target.DISCORD
    assert choose_target(with_token, Target.PLAYGROUND) is Target.PLAYGROUND
    with pytest.raises(RunError, match="DISCORD_TOKEN"):
        choose_target(without, Target.DISCORD)


def test_discord_without_a_token_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in clean_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["run", "--discord"])
    assert result.exit_code == 2
    assert "DISCORD_TOKEN" in result.output


async def test_an_unusable_data_folder_is_explained_without_a_traceback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = make_settings(blocker / "data")
    code = await asyncio.wait_for(run_bot(settings, Target.PLAYGROUND, port=0, announce=lambda line: None, stop=asyncio.Event()), timeout=30)
    assert code == 1
    record = next(r for r in caplog.records if r.name == "bot.runner")
    assert "Cannot open the data folder" in record.getMessage() and "data_dir" in record.getMessage()
    assert record.exc_info is None
