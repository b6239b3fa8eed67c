"""`tunesmith data build`: read the training data into the compact corpus cache and its manifest."""

from __future__ import annotations

from pathlib import Path

import typer


def _parse_source(text: str) -> tuple[Path, str]:
    from engine.labels import normalise_style

    folder, sep, style = text.rpartition(":")
    if not sep or not folder:
        raise typer.BadParameter(f"{text!r}: use DIR:STYLE, for example ~/midi/bossa:latin")
    try:
        style = normalise_style(style)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise typer.BadParameter(f"{path} is not a folder")
    return path, style


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Training data: build the corpus cache.", no_args_is_help=True)

    @data_app.command("build")
    def build(
        source: list[str] = typer.Option([], "--source", "-s", help="Extra folder of MIDI/MusicXML files as DIR:STYLE (repeatable)"),
        out: Path | None = typer.Option(None, "--out", "-o", help="Cache file (default: <data_dir>/corpus/corpus.npz)"),
        shared: bool = typer.Option(True, "--shared/--no-shared", help="Read the shared data folder when present"),
        corpus: bool = typer.Option(True, "--music21/--no-music21", help="Read music21's bundled corpus"),
        only: list[str] = typer.Option([], "--only", help="Build only these sources (names as in the manifest)"),
        workers: int = typer.Option(2, "--workers", "-j", min=1, help="Worker processes"),
        fresh: bool = typer.Option(False, "--fresh", help="Re-parse every file instead of reusing earlier runs' parses"),
        doc: Path | None = typer.Option(None, "--doc", help="Also write the corpus documentation (e.g. docs/CORPUS.md)"),
    ) -> None:
        """Read ../shared/data (when present), music21's corpus and any --source folders into one cache file."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from bot.config import get_settings
        from engine.data.build import build_corpus
        from engine.data.manifest import corpus_doc, manifest_markdown, summary_lines
        from engine.data.readers.registry import folder_source, music21_sources, shared_sources

        console = Console()
        settings = get_settings()
        extra = [folder_source(*_parse_source(s)) for s in source]
        sources = []
        if shared and settings.shared_data_dir.is_dir():
            sources += shared_sources(settings.shared_data_dir)
        elif shared:
            console.print(f"[yellow]No shared data at {settings.shared_data_dir}; using music21's corpus and --source folders.[/]")
        if corpus:
            sources += music21_sources()
        sources += extra
        if only:
            unknown = set(only) - {s.name for s in sources}
            if unknown:
                raise typer.BadParameter(f"unknown source(s) {sorted(unknown)}; known: {', '.join(s.name for s in sources)}")
            sources = [s for s in sources if s.name in only]
        if not sources:
            raise typer.BadParameter("no sources to read")
        out_path = out or settings.data_dir / "corpus" / "corpus.npz"
        item_cache = out_path.parent / "parsed"
        with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("reading", total=None)

            def progress(name: str, done: int, total: int) -> None:
                bar.update(task, description=name, completed=done, total=total)

            result = build_corpus(sources, out_path, workers=workers, item_cache_dir=item_cache, refresh=fresh, progress=progress)
        result.manifest_path.with_suffix(".md").write_text(manifest_markdown(result.manifest))
        if doc is not None:
            doc.parent.mkdir(parents=True, exist_ok=True)
            doc.write_text(corpus_doc(result.manifest))
            console.print(f"Documentation: {doc}")
        for line in summary_lines(result.manifest):
            console.print(line)
        console.print(f"Cache: [bold]{result.cache_path}[/] ({result.cache_path.stat().st_size / 1e6:.1f} MB)")
        console.print(f"Manifest: {result.manifest_path} and {result.manifest_path.with_suffix('.md')}")

    @data_app.command("mood-agreement")
    def mood_agreement(
        limit: int | None = typer.Option(None, "--limit", help="Pieces per labelled set (default: all)"),
    ) -> None:
        """Check the mood estimator against EMOPIA and VGMIDI labels (and print weights fitted on both)."""
        from rich.console import Console
        from rich.table import Table

        from bot.config import get_settings
        from engine.data.mood_calibration import calibrate, load_labelled

        console = Console()
        shared = get_settings().shared_data_dir
        with console.status("Reading EMOPIA and VGMIDI..."):
            sets = load_labelled(shared, limit=limit)
        if not sets:
            raise typer.BadParameter(f"no EMOPIA or VGMIDI folder under {shared}")
        report = calibrate(sets)
        table = Table(title="Mood estimator vs labels")
        for col in ("set", "weights", "pieces", "valence sign", "arousal sign", "quadrant"):
            table.add_column(col)
        for name, how, a in report.rows:
            table.add_row(name, how, str(a.n), f"{a.valence_sign:.1%}", f"{a.arousal_sign:.1%}", f"{a.quadrant:.1%}")
        console.print(table)
        console.print(f"Weights fitted on both sets: {report.fitted}")

    @data_app.command("forms")
    def forms(folder: Path | None = typer.Option(None, "--folder", help="POP909 phrase labels (default: <shared data>/pop909-structure)")) -> None:
        """Learn pop and rock forms from POP909's human phrase labels into engine/plan/pop909_forms.json."""
        from bot.config import get_settings
        from engine.plan.pop_forms import FORMS_PATH, write_learned

        folder = folder or get_settings().shared_data_dir / "pop909-structure"
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder} is not a folder of POP909 phrase labels")
        result = write_learned(folder)
        counts = ", ".join(f"{n} bars: {len(t)} structures" for n, t in result["structures"].items())
        typer.echo(f"{result['songs']} songs; {counts}; written to {FORMS_PATH}")

    app.add_typer(data_app, name="data")
