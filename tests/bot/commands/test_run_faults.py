"""`tunesmith run` under faults: killed with SIGKILL (its workers die with it), a damaged database (a clear message
naming the file, and the process exits), and the online backups it takes while running."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.runner import Target, run_bot
from storage import Storage
from storage.backup import check_database, list_backups
from tests.bot.commands.test_run_command import _read_url, clean_env
from tests.helpers.bot import make_settings
from tests.helpers.processes import command_line, descendants, wait_until_gone

pytestmark = pytest.mark.timeout(600)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
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


async def test_a_damaged_database_stops_run_with_a_message_naming_the_file(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    database = tmp_path / "data" / "tunesmith.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"these bytes are no SQLite database " * 200)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--port", "0",
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=180)  # it used to hang here for good
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (out + err).decode()
    assert process.returncode != 0
    assert f"The database {database} is damaged" in log and "tunesmith db restore" in log, log
    assert "data_dir" not in log and "Traceback" not in log, log


async def test_run_takes_an_online_backup_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", enabled_cogs=["plugins"], backup_interval_hours=24, backup_keep=2)
    async with await Storage.open(settings.database_path, settings.media_dir) as storage:
        await storage.jobs.create("compose", {"request": {"style": "jazz"}}, user_id=42)
    stop = asyncio.Event()

    async def stop_after_first_backup() -> None:
        while not list_backups(settings.backups_dir, automatic_only=True):
            await asyncio.sleep(0.05)
        stop.set()

    watcher = asyncio.create_task(stop_after_first_backup())
    code = await asyncio.wait_for(run_bot(settings, Target.PLAYGROUND, port=0, announce=lambda line: None, stop=stop), timeout=120)
    watcher.cancel()
    assert code == 0
    [backup] = list_backups(settings.backups_dir)
    report = check_database(backup)
    assert report.ok and report.schema_version is not None
