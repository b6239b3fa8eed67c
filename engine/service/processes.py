"""Helpers for the service's worker processes (the model process and the render workers)."""

from __future__ import annotations

import multiprocessing
import os
import signal


def default_start_method() -> str:
    # Never fork: a forked child of a threaded process can inherit a lock held by another thread.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def kill(pid: int) -> None:
    """SIGKILL a worker; a worker that is already gone is fine."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


__all__ = ["default_start_method", "kill"]
