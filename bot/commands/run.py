"""`tunesmith run`: the bot, against Discord with DISCORD_TOKEN, else against the built-in playground."""

from __future__ import annotations

import asyncio
import os

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel

from bot.config import Settings
from bot.logging import configure_logging
from bot.runner import RunError, Target, run_bot


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        playground: bool | None = typer.Option(
            None, "--playground/--discord", help="Force the playground, or Discord (needs DISCORD_TOKEN). Default: Discord when DISCORD_TOKEN is set."
        ),
        host: str | None = typer.Option(None, help="Playground address to listen on. Default: the playground_host setting."),
        port: int | None = typer.Option(None, help="Playground port (0: any free one). Default: the playground_port setting."),
        shards: int | None = typer.Option(
            None, "--shards", min=1, help="Run N bot processes, one gateway shard each, sharing the database (docs/DEPLOY.md, \"Shards\")."
        ),
        playground_url: str | None = typer.Option(None, "--playground-url", hidden=True, help="Connect to this running playground (shard processes)."),
        shard_child: bool = typer.Option(False, "--shard-child", hidden=True, help="Started by --shards: one shard's process."),
    ) -> None:
        """Run the bot until Ctrl-C. Without a Discord token it starts the playground and prints its address."""
        errors = Console(stderr=True)
        try:
            settings = Settings()
        except ValidationError as exc:
            errors.print(f"[red]Invalid settings[/red] (tunesmith.toml or TUNESMITH_* variables):\n{exc}")
            raise typer.Exit(2) from None
        token = settings.discord_token.get_secret_value() if settings.discord_token else None
        configure_logging(settings.log_level, settings.log_format, secrets=[token])
        target = Target.AUTO if playground is None else (Target.PLAYGROUND if playground else Target.DISCORD)

        console = Console()

        def announce(line: str) -> None:
            console.print(Panel.fit(f"[bold green]{line}[/bold green]", border_style="green"), soft_wrap=True)

        try:
            if shards is not None:
                from bot.shards import run_shards

                code = asyncio.run(run_shards(settings, shards, target, host=host, port=port, announce=announce))
            else:
                token_for_playground = None
                if playground_url is not None:
                    from bot.shards import PLAYGROUND_TOKEN_ENV

                    token_for_playground = os.environ.get(PLAYGROUND_TOKEN_ENV)
                code = asyncio.run(run_bot(settings, target, host=host, port=port, announce=announce,
                                           playground_url=playground_url, playground_token=token_for_playground))
        except RunError as exc:
            errors.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        raise typer.Exit(code)
