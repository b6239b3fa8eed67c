"""The `tunesmith` command. Each sub-command lives in bot/commands/<name>.py and registers itself here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Tunesmith: a music-composing Discord bot.", no_args_is_help=True, add_completion=False)

# One module per command group; each defines `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "data",
    "evaluate",
    "bench",
    "train",
    "arrange",
    "compose",
    "db",
    "media",
    "playground",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"bot.commands.{_name}").register(app)


if __name__ == "__main__":
    app()
