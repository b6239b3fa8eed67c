"""`tunesmith db check | backup | restore`: look after the database file (<data_dir>/tunesmith.sqlite3), or, with
`database_url` set, the PostgreSQL database (storage/pg_admin.py: pg_dump backups, pg_restore instructions)."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Check, back up and restore the database.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command("check")
    def check(database: Path | None = typer.Option(None, "--database", help="Database file (default: the data_dir's)")) -> None:
        """Run SQLite's integrity and foreign-key checks. Exit status 1 when the database is damaged."""
        from storage.backup import check_database, list_backups

        settings = _settings()
        if settings.uses_postgres and database is None:
            _check_postgres(settings.database_url)
            return
        path = database or settings.database_path
        report = _or_exit(lambda: check_database(path))
        console = Console(soft_wrap=True)
        if report.ok:
            console.print(f"✅ {path} is sound: schema version {report.schema_version}, {report.tracks} tracks.")
            return
        console.print(f"❌ {path} is damaged:")
        for problem in report.problems[:20]:
            console.print(f"  - {problem}")
        backups = list_backups(settings.backups_dir)
        if backups:
            console.print(f"Restore the newest backup ({backups[0]}) with `tunesmith db restore`.")
        else:
            console.print(f"There is no backup in {settings.backups_dir} to restore.")
        raise typer.Exit(1)

    @db.command("backup")
    def backup(to: Path | None = typer.Option(None, "--to", help="Backup file to write (default: a new file in <data_dir>/backups)")) -> None:
        """Take a consistent copy of the database; safe while the bot runs."""
        from storage.backup import backup_database, take_backup

        settings = _settings()
        if settings.uses_postgres:
            from storage.pg_admin import dump_postgres
            from storage.postgres import redact_url

            dumped = _or_exit(lambda: dump_postgres(settings.database_url, to, settings.backups_dir))
            Console(soft_wrap=True).print(f"✅ Backed up {redact_url(settings.database_url)} to {dumped} (pg_dump, custom format).")
            return
        target = _or_exit(lambda: backup_database(settings.database_path, to) if to else take_backup(settings.database_path, settings.backups_dir))
        Console(soft_wrap=True).print(f"✅ Backed up {settings.database_path} to {target}.")

    @db.command("restore")
    def restore(backup: Path | None = typer.Argument(None, help="Backup file to restore (default: the newest in <data_dir>/backups)")) -> None:
        """Put a backup back in place of the database. Stop the bot first: it would keep its own view of the old data."""
        from storage.backup import list_backups, restore_database

        settings = _settings()
        if settings.uses_postgres:
            from storage.pg_admin import restore_instructions

            _fail(restore_instructions(settings.database_url, backup))
        if backup is None:
            backups = list_backups(settings.backups_dir)
            if not backups:
                _fail(f"There is no backup in {settings.backups_dir}; name one: `tunesmith db restore FILE`.")
            backup = backups[0]
        kept = _or_exit(lambda: restore_database(backup, settings.database_path))
        console = Console(soft_wrap=True)
        console.print(f"✅ Restored {settings.database_path} from {backup}.")
        if kept is not None:
            console.print(f"The database as it was before is kept in {kept}.")


def _check_postgres(url: str) -> None:
    from storage.pg_admin import check_postgres
    from storage.postgres import redact_url

    report = _or_exit(lambda: check_postgres(url))
    console = Console(soft_wrap=True)
    where = redact_url(url)
    if report.ok:
        tracks = "" if report.tracks is None else f", {report.tracks} tracks"
        console.print(f"✅ {where} answers: schema version {report.schema_version}{tracks}. "
                      "PostgreSQL keeps its own data consistent; check its files with pg_amcheck.")
        return
    console.print(f"❌ {where}:")
    for problem in report.problems[:20]:
        console.print(f"  - {problem}")
    raise typer.Exit(1)


def _settings():
    from bot.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        _fail(f"Invalid settings (tunesmith.toml or TUNESMITH_* variables):\n{exc}", code=2)


def _or_exit(action):
    """Run `action`; a storage error the operator can act on becomes its message and exit status 2."""
    import sqlite3

    from storage import DatabaseBusyError, DatabaseOpenError

    try:
        return action()
    except (DatabaseOpenError, DatabaseBusyError) as exc:
        _fail(str(exc))
    except sqlite3.Error as exc:
        _fail(f"SQLite refused: {exc}.")
    except OSError as exc:
        _fail(f"{exc.filename or 'A file'}: {exc.strerror or exc}.")


def _fail(message: str, code: int = 2):
    Console(stderr=True).print(f"[red]{message}[/red]", soft_wrap=True)
    raise typer.Exit(code)
