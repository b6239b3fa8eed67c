"""Resident memory of a process, from /proc (Linux) or getrusage's peak elsewhere; no psutil needed."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


def resident_bytes(pid: int | None = None) -> int:
    """Current resident set size of `pid` (default: this process), in bytes."""
    status = Path(f"/proc/{pid or os.getpid()}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (FileNotFoundError, ProcessLookupError):
        if pid is not None:
            raise ProcessLookupError(f"no process {pid}") from None
    if pid not in (None, os.getpid()):
        raise OSError("reading another process's memory needs /proc")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # peak, not current: the best portable figure
    return peak if sys.platform == "darwin" else peak * 1024


__all__ = ["resident_bytes"]
