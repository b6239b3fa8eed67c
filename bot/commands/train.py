"""`tunesmith train`: train the VAE and the latent GAN on the corpus cache, then evaluate the result."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        config: str = typer.Option("base", "--config", "-c", help="Model config: base (the shipped model) or tiny (seconds on a CPU)"),
        cache_path: Path | None = typer.Option(None, "--cache", help="Corpus cache (default: <data_dir>/corpus/corpus.npz)"),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (default: <data_dir>/models/<config>)"),
        resume: bool = typer.Option(False, "--resume", help="Continue from the output folder's train_state.pt"),
        seed: int = typer.Option(0, "--seed", help="Seed for initialisation, batches and augmentation"),
        device: str | None = typer.Option(None, "--device", help="cuda or cpu (default: cuda when present)"),
        evaluate_after: bool = typer.Option(True, "--eval/--no-eval", help="Run the evaluation on the trained model"),
        n: int = typer.Option(24, "--n", min=1, help="Pieces per style for the evaluation"),
    ) -> None:
        """Train (progress bar, periodic validation, checkpoints, metrics log), write model.pt, then evaluate it."""
        from rich.console import Console

        from bot.config import get_settings
        from engine.data.cache import CorpusCache
        from engine.model_config import CONFIGS, get_config
        from engine.train import train

        console = Console()
        if config not in CONFIGS:
            raise typer.BadParameter(f"unknown config {config!r}; choose one of: {', '.join(CONFIGS)}")
        settings = get_settings()
        path = cache_path or settings.data_dir / "corpus" / "corpus.npz"
        if not path.is_file():
            raise typer.BadParameter(f"no corpus cache at {path}: run `tunesmith data build` first")
        out_dir = out or settings.models_dir / config
        cache = CorpusCache.load(path)
        console.print(f"Training [bold]{config}[/] on {len(cache)} segments from {path} into {out_dir}")
        metrics = train(get_config(config), cache, out_dir, resume=resume, seed=seed, device=device)
        if metrics is None:
            return
        console.print(f"Wrote {out_dir / 'model.pt'} ({metrics['version']}) in {metrics['train_seconds']} s")
        if not evaluate_after:
            return
        try:
            import engine.evaluation.evaluate  # noqa: F401
        except ImportError as exc:
            console.print(f"[yellow]Evaluation not available ({exc}); run `tunesmith eval --model {out_dir / 'model.pt'}` later.[/]")
            return
        from engine.train import evaluate_checkpoint

        with console.status("Evaluating..."):
            report = evaluate_checkpoint(out_dir / "model.pt", cache, path.parent, n, device, log=console.print)
        console.print(report.to_table())
