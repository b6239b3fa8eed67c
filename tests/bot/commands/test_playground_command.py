"""`tunesmith playground` (and `python -m bot.playground`) serves the playground until it is stopped."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_playground_command_serves_the_page_and_stops_on_interrupt() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "bot.playground", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:  # the first line names the address; log lines may come before it
            if line.startswith("Playground at "):
                break
        match = re.match(r"Playground at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "/", timeout=30) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_command_refuses_a_bad_port_with_a_message() -> None:
    result = subprocess.run([sys.executable, "-m", "bot.playground", "--port", "70000"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--port" in result.stderr and "65535" in result.stderr and "Traceback" not in result.stderr
