"""`tunesmith train`: train the VAE and the latent GAN on the corpus cache, then evaluate the result.
`tunesmith finetune` and `tunesmith taste-train`: the retrain jobs (the shared model from ratings, one server's
taste), which the retrain cog starts as `python -m engine.finetune` / `python -m engine.taste.train`: those
modules run `finetune_app` / `taste_train_app` below, so there is one definition of their options."""

from __future__ import annotations

from pathlib import Path

import typer

# Defaults of engine.finetune and engine.taste.train, repeated here so the CLI starts without importing torch.
MAX_MEMBER_SHARE = 0.2
MIN_RATERS = 3
ACTOR_STEPS = 300
CPU_BATCH = 32


def finetune_command(
    ratings: Path = typer.Option(..., "--ratings", help="a ratings export (.npz) from storage"),
    out: Path = typer.Option(..., "--out", help="folder for the candidate model"),
    base: Path | None = typer.Option(None, "--base", help="the model to start from (default: the shipped one)"),
    replay: Path | None = typer.Option(None, "--replay", help="a corpus cache to replay, so the model keeps what it knew"),
    vae_steps: int = typer.Option(150, "--vae-steps"),
    gan_steps: int = typer.Option(150, "--gan-steps"),
    seed: int = typer.Option(0, "--seed"),
    device: str | None = typer.Option(None, "--device"),
    batch_size: int | None = typer.Option(None, "--batch-size", help=f"default: the model's on a GPU, {CPU_BATCH} on a CPU"),
    max_member_share: float = typer.Option(MAX_MEMBER_SHARE, "--max-member-share", help="the most of the rating weight one member may carry"),
    min_raters: int = typer.Option(MIN_RATERS, "--min-raters", help="different members who must have rated"),
) -> None:
    """Fine-tune the shared model on rated tracks; progress and the outcome as JSON lines on stdout, exit status 1 on error."""
    from engine.finetune import run_job

    raise typer.Exit(run_job(base, ratings, out, replay=replay, vae_steps=vae_steps, gan_steps=gan_steps, seed=seed, device=device,
                             batch_size=batch_size, max_member_share=max_member_share, min_raters=min_raters))


def taste_train_command(
    ratings: Path = typer.Option(..., "--ratings", help="one server's ratings export (.npz)"),
    out: Path = typer.Option(..., "--out", help="folder for taste.pt"),
    base: Path | None = typer.Option(None, "--base", help="the serving model (default: the shipped one)"),
    steps: int = typer.Option(ACTOR_STEPS, "--steps", help="actor training steps"),
    seed: int = typer.Option(0, "--seed"),
    guild: int | None = typer.Option(None, "--guild"),
    max_member_share: float = typer.Option(MAX_MEMBER_SHARE, "--max-member-share"),
    min_raters: int = typer.Option(MIN_RATERS, "--min-raters"),
) -> None:
    """Train one server's taste model from its ratings; progress and the outcome as JSON lines, exit status 1 on error."""
    from engine.taste.train import run_job

    raise typer.Exit(run_job(ratings, out, base=base, steps=steps, seed=seed, guild=guild, max_member_share=max_member_share, min_raters=min_raters))


def _single(command: object) -> typer.Typer:
    """A typer app of one command, for `python -m` entry points that take the command's options directly."""
    single = typer.Typer(add_completion=False)
    single.command()(command)
    return single


finetune_app = _single(finetune_command)
taste_train_app = _single(taste_train_command)


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune_command)
    app.command("taste-train")(taste_train_command)

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
        overrides: list[str] = typer.Option([], "--set", metavar="FIELD=VALUE", help="Override a config field, e.g. --set vae_steps=100 (repeatable)"),
    ) -> None:
        """Train (progress bar, periodic validation, checkpoints, metrics log), write model.pt, then evaluate it."""
        from rich.console import Console

        from bot.config import get_settings
        from engine.data.cache import CorpusCache
        from engine.model_config import CONFIGS
        from engine.train import config_with, train

        console = Console()
        if config not in CONFIGS:
            raise typer.BadParameter(f"unknown config {config!r}; choose one of: {', '.join(CONFIGS)}")
        settings = get_settings()
        path = cache_path or settings.data_dir / "corpus" / "corpus.npz"
        if not path.is_file():
            raise typer.BadParameter(f"no corpus cache at {path}: run `tunesmith data build` first")
        try:
            model_config = config_with(config, overrides)
        except (ValueError, TypeError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--set") from None
        out_dir = out or settings.models_dir / config
        cache = CorpusCache.load(path)
        console.print(f"Training [bold]{config}[/] on {len(cache)} segments from {path} into {out_dir}")
        metrics = train(model_config, cache, out_dir, resume=resume, seed=seed, device=device)
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
