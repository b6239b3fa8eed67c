"""`tunesmith eval`: style accuracy (two independent judges), mood agreement, metrics and copy rate of a
model or a reference generator; `--form`: the form and performance measures against the real data."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def _generator(model: str, cache):
    """(generator, display name) for --model: 'random', 'real', or a checkpoint path."""
    from engine.evaluation.generators import HeldOutGenerator, RandomGenerator

    if model == "random":
        return RandomGenerator(seed=0), "random generator"
    if model == "real":
        if cache is None:
            raise typer.BadParameter("--model real needs the corpus cache (held-out real pieces)")
        return HeldOutGenerator(cache, split="test", seed=0), "held-out real pieces"
    return _composer(Path(model)).generate_pieces, f"model {Path(model).name}"


def _composer(path: Path | None):
    """The engine's Composer for a checkpoint path (None: the shipped checkpoint)."""
    if path is not None and not path.expanduser().is_file():
        raise typer.BadParameter(f"{path}: no such checkpoint (or use --model random / --model real)")
    try:
        from engine.generate import Composer
    except ImportError as exc:
        raise typer.BadParameter(f"the generation engine is not available ({exc})") from exc
    return Composer.load(path.expanduser() if path is not None else None)


def _write_json(text: str, target: Path | None) -> None:
    if target is None:
        return
    if str(target) == "-":
        print(text)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n")


def _load_cache(cache_path: Path | None, settings):
    from engine.data.cache import CorpusCache

    path = cache_path or settings.data_dir / "corpus" / "corpus.npz"
    if not path.is_file():
        raise typer.BadParameter(f"no corpus cache at {path}: run `tunesmith data build` first")
    return CorpusCache.load(path), path


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def evaluate_command(
        model: str | None = typer.Option(None, "--model", "-m",
                                         help="Checkpoint path, or 'random' / 'real' (held-out real data). Default: 'random'; with --form the shipped model"),
        n: int = typer.Option(12, "--n", "-n", min=1, help="Pieces per style (the style evaluation rounds up to whole sets of moods)"),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON to FILE ('-': standard output, table on stderr)"),
        cache_path: Path | None = typer.Option(None, "--cache", help="Corpus cache (default: <data_dir>/corpus/corpus.npz)"),
        retrain: bool = typer.Option(False, "--retrain", help="Retrain the judges and novelty index even if saved ones match the cache"),
        form: bool = typer.Option(False, "--form", help="Form and performance measures against the real data's median and IQR per style"),
        bars: int = typer.Option(8, "--bars", help="With --form: bars per piece (8, 16 or 32 choose the reference window)"),
        style: list[str] = typer.Option([], "--style", help="With --form: only these styles (repeatable)"),
        seed: int = typer.Option(900, "--seed", help="With --form: the first seed (pieces use seed, seed+1, ...)"),
        held_out: bool = typer.Option(False, "--held-out", help="With --form: judge against the held-out test split's figures"),
        no_band: bool = typer.Option(False, "--no-band", help="With --form: skip the arrangement (band measures n/a)"),
        markdown_out: Path | None = typer.Option(None, "--markdown", help="With --form: also write the report as a Markdown table to FILE"),
        build_form_reference: bool = typer.Option(False, "--build-form-reference",
                                                  help="Measure the real data (../shared/data and music21's corpus) into the shipped form reference"),
        items_per_source: int = typer.Option(300, "--items-per-source", min=1, help="With --build-form-reference: files or tunes read per source"),
        workers: int = typer.Option(1, "--workers", "-j", min=1, help="With --build-form-reference: worker processes"),
        reference_path: Path | None = typer.Option(None, "--reference", help="Form reference file (default: the shipped one)"),
        build_second_judge: bool = typer.Option(False, "--build-second-judge", help="Train the second style judge on the cache and write the shipped file"),
    ) -> None:
        """Evaluate a generator against held-out real data (build the cache first with `tunesmith data build`)."""
        from rich.console import Console

        from bot.config import get_settings

        console = Console(stderr=str(json_out) == "-")
        settings = get_settings()
        if build_form_reference:
            _build_form_reference(console, settings, reference_path, items_per_source, workers)
            return
        if build_second_judge:
            _build_second_judge(console, settings, cache_path)
            return
        if form:
            _form(console, model, n, bars, style, seed, held_out, no_band, reference_path, json_out, markdown_out)
            return

        from engine.evaluation.artifacts import load_or_build_artifacts, load_or_build_second_judge
        from engine.evaluation.evaluate import evaluate

        cache, path = _load_cache(cache_path, settings)
        classifier, novelty = load_or_build_artifacts(cache, path.parent, retrain=retrain, log=console.print)
        judge = load_or_build_second_judge(cache, path.parent, retrain=retrain, log=console.print)
        generator, name = _generator(model or "random", cache)
        with console.status(f"Evaluating {name}..."):
            report = evaluate(generator, cache, n, classifier=classifier, novelty=novelty, second_judge=judge, name=name)
        console.print(report.to_table())
        _write_json(report.to_json(), json_out)


def _build_form_reference(console, settings, reference_path: Path | None, items_per_source: int, workers: int) -> None:
    from engine.evaluation.form_reference import REFERENCE_FILE, build_reference, reference_sources, write_reference

    shared = settings.shared_data_dir if settings.shared_data_dir.is_dir() else None
    if shared is None:
        console.print(f"[yellow]No shared data at {settings.shared_data_dir}: the reference will hold music21's corpus only.[/]")
    sources = reference_sources(shared)
    done = {"last": ""}

    def progress(name: str, i: int, total: int) -> None:
        if name != done["last"] or i == total:
            console.print(f"{i}/{total} {name}")
            done["last"] = name

    document = build_reference(sources, items_per_source=items_per_source, workers=workers, progress=progress)
    path = write_reference(document, reference_path or REFERENCE_FILE)
    for name, stats in document["sources"].items():
        console.print(f"{name}: {stats['items_read']} items, {stats['pieces']} pieces, {stats['errors']} errors")
    console.print(f"Form reference: {path}")


def _build_second_judge(console, settings, cache_path: Path | None) -> None:
    from engine.evaluation.evaluate import cache_fingerprint
    from engine.evaluation.second_judge import SHIPPED_FILE, train_second_judge

    cache, _ = _load_cache(cache_path, settings)
    judge = train_second_judge(cache, fingerprint=cache_fingerprint(cache), log=console.print)
    judge.save(SHIPPED_FILE)
    console.print("Ceiling (held-out test split): " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in judge.ceiling.items()))
    console.print(f"Second judge: {SHIPPED_FILE}")


def _form(console, model: str | None, n: int, bars: int, styles: list[str], seed: int, held_out: bool, no_band: bool,
          reference_path: Path | None, json_out: Path | None, markdown_out: Path | None = None) -> None:
    from engine.evaluation.form_eval import evaluate_form
    from engine.evaluation.form_reference import REFERENCE_FILE, ReferenceError, load_reference
    from engine.evaluation.second_judge import SHIPPED_FILE, SecondJudge
    from engine.request import MAX_BARS, MIN_BARS
    from engine.labels import normalise_style

    if not MIN_BARS <= bars <= MAX_BARS:
        raise typer.BadParameter(f"--bars must be between {MIN_BARS} and {MAX_BARS}")
    try:
        reference = load_reference(reference_path or REFERENCE_FILE)
    except ReferenceError as exc:
        raise typer.BadParameter(str(exc)) from None
    if model == "random":
        from engine.evaluation.generators import RandomGenerator

        generate, name, supported = RandomGenerator(seed=0), "random generator", None
    elif model == "real":
        raise typer.BadParameter("--form measures generated pieces; the real data is the reference itself")
    else:
        composer = _composer(Path(model) if model else None)
        generate, name, supported = composer.generate_pieces, f"model {Path(model).name if model else 'shipped'}", composer.supported_styles()
    try:
        chosen = [normalise_style(s) for s in styles] if styles else list(supported or reference["windows"][str(min(int(w) for w in reference["windows"]))])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    arrange = None
    if not no_band:
        from engine.arrange import arrange as arrange_with_plan
        from engine.plan import plan_for_piece

        def arrange(piece, request):  # the plan the piece was written to (the same request makes the same plan)
            return arrange_with_plan(piece, plan_for_piece(piece.bars, piece.key, piece.tempo, request.style, request.mood, request.seed))
    judge = SecondJudge.load(SHIPPED_FILE) if SHIPPED_FILE.is_file() else None
    with console.status("Generating and measuring...") as status:
        report = evaluate_form(generate, chosen, reference, n=n, bars=bars, seed=seed, arrange=arrange, name=name,
                               part="held_out" if held_out else "reference", second_judge=judge,
                               progress=lambda s: status.update(f"Generating and measuring {s}..."))
    console.print(report.to_table())
    _write_json(report.to_json(), json_out)
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(report.to_markdown())
    sys.stdout.flush()
