"""Finding and waiting for real processes through /proc (Linux), for the tests that kill them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(stat.rsplit(b")", 1)[1].split()[1])  # the field after the state


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(pid: int) -> set[int]:
    """Every running process below `pid` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                parents[int(entry)] = parent
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier and child not in found}
        found |= frontier
    return {p for p in found if is_running(p)}


async def wait_until_gone(pids: set[int], timeout: float) -> set[int]:
    """Poll until none of `pids` runs or `timeout` passes; returns the ones still running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := {p for p in pids if is_running(p)}) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return left


HOLD_DATABASE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


class DatabaseHolder:
    """A second process holding an exclusive lock on a SQLite database until `release()`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def hold(cls, database: Path, timeout: float = 60) -> "DatabaseHolder":
        import sys

        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_DATABASE, str(database), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        assert line.strip() == b"locked", line
        return cls(process)

    async def release(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b"\n")
            await self.process.stdin.drain()
            await self.process.wait()
