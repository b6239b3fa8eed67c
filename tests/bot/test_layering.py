"""The project's import rules: cogs and the bot core never pull in torch (the engine service owns the model)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bot.config import PROJECT_ROOT

PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    import cogs
    for info in pkgutil.iter_modules(cogs.__path__):
        importlib.import_module("cogs." + info.name)
    import bot.client, bot.runner, bot.commands.run
    print("torch loaded:", "torch" in sys.modules)
    """
)


def test_importing_every_cog_and_the_bot_core_does_not_import_torch() -> None:
    # A fresh interpreter: in this one, other tests may already have imported torch.
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # Libraries may print on import (pyfluidsynth says where it found libfluidsynth): read only the probe's line.
    verdict = [line for line in result.stdout.splitlines() if line.startswith("torch loaded:")]
    assert verdict == ["torch loaded: False"], "a cog or the bot core imports torch; reach the engine through bot.services.engine"
