"""`tunesmith media prune`: apply the media retention policy now (the bot also does it while it runs)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    media = typer.Typer(help="Rendered files of tracks and retrain runs.", no_args_is_help=True)
    app.add_typer(media, name="media")

    @media.command("prune")
    def prune(
        days: float | None = typer.Option(None, "--days", min=0, help="Keep files this many days (default: media_retention_days)"),
        dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would be deleted"),
    ) -> None:
        """Delete the MIDI, MP3 and pictures of tracks older than the retention period, and rejected retrain runs.
        The notes stay in the database: buttons keep working and files are rendered again, identically, when needed."""
        from bot.commands.db import _or_exit, _settings
        from storage import Storage
        from storage.retention import prune_media

        settings = _settings()
        keep = settings.media_retention_days if days is None else days
        if keep <= 0 and days is None:
            Console(soft_wrap=True).print("media_retention_days is 0: media are kept forever. Pass --days to prune anyway.")
            return

        async def run():
            async with await Storage.open(settings.database_path, settings.media_dir, busy_timeout_s=settings.database_busy_timeout_seconds) as storage:
                return await prune_media(storage.db, storage.media, retention_days=keep, models_dir=settings.models_dir, dry_run=dry_run)

        report = _or_exit(lambda: asyncio.run(run()))
        verb = "Would delete" if dry_run else "Deleted"
        Console(soft_wrap=True).print(f"{'🔎' if dry_run else '✅'} {verb} files older than {keep:g} days: {report.summary()}.")
