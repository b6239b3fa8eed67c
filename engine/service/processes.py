"""Helpers for the service's worker processes (the model process and the render workers).

Workers run at a lower CPU priority than the bot: on a machine whose cores they fill, the bot's event loop
(acknowledgements within Discord's 3 s, the gateway heartbeat) still runs when it has work.

Workers must die with the bot, even when it is killed with SIGKILL and runs no clean-up: each worker (and the
forkserver that forks them) asks Linux for SIGKILL when its parent dies (PR_SET_PDEATHSIG), and each worker
also watches the bot's pid from a thread, for the moment before prctl took effect and for systems without it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.context import BaseContext

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_S = 0.5
# Added to a worker's nice value: CFS then gives the bot about three times a worker's share of a busy core.
WORKER_NICENESS = 5
# Imported by the forkserver before it forks anything: the module asks for its own parent-death signal.
FORKSERVER_GUARD_MODULE = "engine.service.forkserver_guard"


def default_start_method() -> str:
    # Never fork: a forked child of a threaded process can inherit a lock held by another thread.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def worker_context(start_method: str | None = None) -> BaseContext:
    """The multiprocessing context for workers; with forkserver, a forkserver that dies with this process."""
    method = start_method or default_start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        from multiprocessing import forkserver

        # Only takes effect for a forkserver not yet running; the bot starts it here, before any worker.
        context.set_forkserver_preload(["__main__", FORKSERVER_GUARD_MODULE])
        forkserver.ensure_running()
    return context


def _bind_prctl():
    # Bound once, at import: preexec_fn runs between fork and exec, where loading a library could deadlock.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # the process's own symbols include libc's
    except (OSError, AttributeError):
        return None


_prctl = _bind_prctl()


def request_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `signum` to this process when its parent dies; False where that is not possible."""
    return _prctl is not None and _prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # no /proc: os.kill said it exists


def die_with_parent(owner_pid: int) -> None:
    """A worker's initializer: exit when the process that owns it (`owner_pid`, the bot) or its own parent dies."""
    request_parent_death_signal()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and pid_alive(owner_pid):
            time.sleep(WATCH_INTERVAL_S)
        os._exit(1)  # the bot is gone: nobody will read our results, and clean-up code could hang

    threading.Thread(target=watch, name="tunesmith-parent-watch", daemon=True).start()


def start_worker(owner_pid: int) -> None:
    """The initializer of every engine worker: it dies with its owner (`owner_pid`, the bot) and yields the CPU
    to it (WORKER_NICENESS; the programs it runs, ffmpeg, inherit that)."""
    die_with_parent(owner_pid)
    os.nice(WORKER_NICENESS)


def subprocess_dies_with_parent() -> None:
    """preexec_fn for helper programs a worker runs (ffmpeg): killed when the worker dies."""
    request_parent_death_signal()


def kill(pid: int) -> None:
    """SIGKILL a worker; a worker that is already gone is fine."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


__all__ = [
    "default_start_method", "die_with_parent", "start_worker", "kill", "pid_alive", "request_parent_death_signal",
    "subprocess_dies_with_parent", "worker_context",
]
