"""`tunesmith eval`: style accuracy, mood agreement, metrics and copy rate of a model (or a reference generator)."""

from __future__ import annotations

from pathlib import Path

import typer


def _generator(model: str, cache):
    """(generator, display name) for --model: 'random', 'real', or a checkpoint path."""
    from engine.evaluation.generators import HeldOutGenerator, RandomGenerator

    if model == "random":
        return RandomGenerator(seed=0), "random generator"
    if model == "real":
        return HeldOutGenerator(cache, split="test", seed=0), "held-out real pieces"
    path = Path(model).expanduser()
    if not path.is_file():
        raise typer.BadParameter(f"{path}: no such checkpoint (or use --model random / --model real)")
    try:
        from engine.generate import Composer
    except ImportError as exc:
        raise typer.BadParameter(f"the generation engine is not available ({exc})") from exc
    composer = Composer.load(path)
    return composer.generate_pieces, f"model {path.name}"


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def evaluate_command(
        model: str = typer.Option("random", "--model", "-m", help="Checkpoint path, or 'random' / 'real' (held-out real data)"),
        n: int = typer.Option(12, "--n", "-n", min=1, help="Pieces per style (rounded up to whole sets of moods)"),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
        cache_path: Path | None = typer.Option(None, "--cache", help="Corpus cache (default: <data_dir>/corpus/corpus.npz)"),
        retrain: bool = typer.Option(False, "--retrain", help="Retrain the style classifier and novelty index even if saved ones match the cache"),
    ) -> None:
        """Evaluate a generator against held-out real data (build the cache first with `tunesmith data build`)."""
        from rich.console import Console

        from bot.config import get_settings
        from engine.data.cache import CorpusCache
        from engine.evaluation.artifacts import load_or_build_artifacts
        from engine.evaluation.evaluate import evaluate

        console = Console(stderr=as_json)
        settings = get_settings()
        path = cache_path or settings.data_dir / "corpus" / "corpus.npz"
        if not path.is_file():
            raise typer.BadParameter(f"no corpus cache at {path}: run `tunesmith data build` first")
        cache = CorpusCache.load(path)
        classifier, novelty = load_or_build_artifacts(cache, path.parent, retrain=retrain, log=console.print)
        generator, name = _generator(model, cache)
        with console.status(f"Evaluating {name}..."):
            report = evaluate(generator, cache, n, classifier=classifier, novelty=novelty, name=name)
        if as_json:
            print(report.to_json())
        else:
            console.print(report.to_table())

