"""Resident memory of a process, from /proc (Linux) or getrusage's peak elsewhere; no psutil needed."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

PROC = Path("/proc")


def resident_bytes(pid: int | None = None) -> int:
    """Current resident set size of `pid` (default: this process), in bytes.

    Without /proc only this process can be measured, and only its peak (getrusage's ru_maxrss).
    """
    if PROC.is_dir():
        try:
            status = (PROC / str(pid or os.getpid()) / "status").read_text()
        except FileNotFoundError:
            raise ProcessLookupError(f"no process {pid}") from None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # reported in kB
        raise OSError(f"/proc/{pid}/status has no VmRSS line")
    if pid not in (None, os.getpid()):
        raise OSError("measuring another process's memory needs /proc (Linux)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, kB elsewhere


__all__ = ["resident_bytes"]
