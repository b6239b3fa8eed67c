"""`tunesmith compose`: one track from the command line, written as MIDI, MP3 and a piano-roll PNG."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("compose")
    def compose_command(
        style: str | None = typer.Option(None, "--style", "-s", help="Style, e.g. jazz, folk, rock (see `tunesmith compose --help`)"),
        mood: str | None = typer.Option(None, "--mood", "-m", help="Mood: happy, energetic, calm, dreamy, sad, dark"),
        key: str | None = typer.Option(None, "--key", "-k", help="Key, e.g. C, Eb, F#m"),
        tempo: int | None = typer.Option(None, "--tempo", "-t", help="Tempo in bpm (40-240)"),
        bars: int = typer.Option(8, "--bars", "-b", help="Length in bars (4-32)"),
        seed: int | None = typer.Option(None, "--seed", help="Seed: the same seed and options give the same track"),
        prompt: str | None = typer.Option(None, "--prompt", "-p", help='Words to set style, mood and tempo, e.g. "rainy night in Tokyo"'),
        sampler: str = typer.Option("gan", "--model", help="Sampler: gan (default) or prior"),
        out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for the .mid, .mp3 and .png"),
        checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Model checkpoint (default: the configured or shipped one)"),
    ) -> None:
        """Compose a track and write it as .mid, .mp3 and .png."""
        from rich.console import Console
        from rich.table import Table

        from bot.config import get_settings
        from engine.request import ComposeRequest, EngineInputError

        console = Console()
        settings = get_settings()
        request = ComposeRequest(style=style, mood=mood, key=key, tempo=tempo, bars=bars, seed=seed, sampler=sampler, prompt=prompt)
        try:
            request = request.validated()
        except EngineInputError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None

        from engine.render import AudioRenderer, check_render_dependencies, render_track

        problems = check_render_dependencies(settings.soundfont)
        if problems:
            for problem in problems:
                console.print(f"[red]{problem}[/red]")
            raise typer.Exit(1)
        from engine.generate import Composer

        with console.status("Loading the model…"):
            try:
                composer = Composer.load(checkpoint or settings.checkpoint)
            except (FileNotFoundError, ValueError) as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(1) from None
        with console.status("Composing…"):
            try:
                composition = composer.generate([request])[0]
            except EngineInputError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
        resolved = composition.request
        with console.status("Arranging and rendering…"):
            track = render_track(composition.piece, composition.plan, AudioRenderer(settings.soundfont), settings.upload_cap_bytes)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{resolved.style}-{resolved.mood}-{resolved.seed}"
        paths = {suffix: out / f"{stem}.{suffix}" for suffix in ("mid", "mp3", "png")}
        paths["mid"].write_bytes(track.midi)
        paths["mp3"].write_bytes(track.mp3)
        paths["png"].write_bytes(track.png)

        table = Table(title=f"Composed {stem}", show_header=False)
        for name, value in (
            ("style", resolved.style), ("mood", resolved.mood), ("key", resolved.key), ("tempo", f"{resolved.tempo} bpm"),
            ("bars", str(composition.piece.bars)), ("form", composition.plan.form),
            ("chords", " ".join(c.symbol(composition.piece.key) for c in composition.piece.harmony)), ("seed", str(resolved.seed)), ("sampler", resolved.sampler),
            ("model", composition.model_version), ("duration", f"{track.duration_seconds:.1f} s"),
            ("instruments", ", ".join(f"{role}: {name}" for role, name in track.arrangement.parts.items())),
        ):  # fmt: skip
            table.add_row(name, str(value))
        for suffix, path in paths.items():
            table.add_row(suffix, f"{path} ({path.stat().st_size // 1024} KiB)")
        console.print(table)
