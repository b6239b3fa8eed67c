"""The project's import rules: cogs and the bot core never pull in torch (the engine service owns the model), and no
cog imports another cog."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

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


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module a file imports, relative imports resolved against `package` (the file's own package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_no_cog_imports_another_cog() -> None:
    # Cogs share track embeds, files and buttons through bot.track_messages and workflows through bot's services;
    # a cog that is a package (cogs/rating/) may import its own modules.
    root = PROJECT_ROOT / "cogs"
    cogs = {p.stem for p in root.glob("*.py") if p.stem != "__init__"} | {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    crossings = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative == Path("__init__.py"):
            continue
        own = relative.parts[0].removesuffix(".py")
        package = ".".join(["cogs", *relative.parts[:-1]]) if path.name != "__init__.py" or len(relative.parts) > 1 else "cogs"
        for module in _imported_modules(path, package):
            parts = module.split(".")
            if parts[0] == "cogs" and len(parts) > 1 and parts[1] in cogs and parts[1] != own:
                crossings.append(f"{relative} imports {module}")
    assert not crossings, "cogs import each other; move what they share to bot/ (e.g. bot/track_messages.py):\n" + "\n".join(crossings)
