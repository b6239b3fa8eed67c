"""`tunesmith bench`: benchmarks that print a table. Each is a sub-command (`tunesmith bench recommend`);
`tunesmith bench` alone runs every one with its defaults."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from storage.recommend_eval import Summary


def bench_recommend(
    servers: int = 5, users: int = 50, tracks: int = 500, newcomers: int = 50, seed: int = 7, markdown: Path | None = None
) -> None:
    """Leave-one-out HR@10 / NDCG@10 of the recommender against popularity and random on simulated servers."""
    from rich.console import Console
    from rich.table import Table

    from storage.recommend_eval import run_benchmark

    _ready_to_write(markdown)
    console = Console()
    with _one_blas_thread(console):
        started = time.perf_counter()
        summaries = run_benchmark(servers=servers, n_users=users, n_tracks=tracks, n_new=newcomers, seed=seed)
        elapsed = time.perf_counter() - started

    title = f"Recommendations, leave-one-out, mean ± std over {servers} simulated servers (seed {seed})"
    table = Table(title=title)
    for column in ("setting", "recommender", "HR@10", "NDCG@10", "users evaluated", "ms / request"):
        table.add_column(column, justify="left" if column in ("setting", "recommender") else "right")
    previous = None
    for s in summaries:
        if previous is not None and s.scenario != previous:
            table.add_section()
        table.add_row(
            s.scenario if s.scenario != previous else "",
            s.recommender,
            f"{s.hit_rate:.3f} ± {s.hit_rate_std:.3f}",
            f"{s.ndcg:.3f} ± {s.ndcg_std:.3f}",
            str(s.users),
            _milliseconds(s),
        )
        previous = s.scenario
    console.print(table)
    console.print(f"{elapsed:.1f} s")

    if markdown is not None:
        command = f"tunesmith bench recommend --servers {servers} --users {users} --tracks {tracks} --newcomers {newcomers} --seed {seed}"
        markdown.write_text(_markdown_report(summaries, command, elapsed))
        console.print(f"Report written to {markdown}")


def _ready_to_write(report: Path | None) -> None:
    """Create the report's folder and check it can be written, before any benchmark work starts."""
    if report is None:
        return
    if report.is_dir():
        raise typer.BadParameter(f"{report} is a folder; give a file name such as {report / 'report.md'}", param_hint="--markdown")
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create the folder {report.parent}: {exc.strerror or exc}", param_hint="--markdown") from None
    if not os.access(report.parent, os.W_OK) or (report.exists() and not os.access(report, os.W_OK)):
        raise typer.BadParameter(f"cannot write {report}: permission denied", param_hint="--markdown")


@contextmanager
def _one_blas_thread(console: Console) -> Iterator[None]:
    """Time on one core: the matrices are small, and on a busy machine BLAS threads waiting for each
    other make a 1 ms product take 50."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        console.print("[yellow]threadpoolctl is not installed: BLAS may use several threads and timings vary more.[/]")
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _milliseconds(summary: Summary) -> str:
    # The ceiling is not a recommender: its time is the simulation's, not worth a number.
    return "-" if "ceiling" in summary.recommender else f"{summary.ms_per_request:.2f}"


def _markdown_report(summaries: list[Summary], command: str, elapsed: float) -> str:
    rows = "\n".join(
        f"| {s.scenario} | {s.recommender} | {s.hit_rate:.3f} ± {s.hit_rate_std:.3f} | {s.ndcg:.3f} ± {s.ndcg_std:.3f} | {s.users} | {_milliseconds(s)} |"
        for s in summaries
    )
    return f"""# Recommendations: leave-one-out on simulated servers

Reproduce with `{command}` (add `--markdown docs/bench/recommend.md` to rewrite this file); it took {elapsed:.1f} s.

Each simulated server has tracks with a style, a mood (valence/arousal), a tempo, a note density, a pitch
range and a hidden quality, and a 32-dimensional "latent" that is a noisy linear image of those facts.
Users have hidden tastes: one or two favourite styles, a spot on the valence/arousal plane, a preferred
tempo and density, and how much each of those (and quality) matters to them. They rate (1-5, by
quintiles of their own noisy liking) tracks they come across, more often ones they like, never their
own. For each evaluated user one of their best-rated tracks (4 or 5) is held out; every recommender
ranks all tracks the user neither rated nor made, and HR@10 / NDCG@10 say where the held-out one came.

- **ours**: `storage.recommender.Recommender`, the code `/recommend` runs (content similarity on latent,
  features, style and mood + a per-user ridge taste model + item-kNN + a popularity prior).
- **popularity**: most liked (ratings of 4-5) first. **random**: a random order per user.
- **hidden taste (ceiling)**: ranks by the users' true, noise-free taste; no recommender can know it.
- *50 users x 500 tracks*: every user has 20-60 ratings. *cold start*: 50 newcomers with 1-3 ratings
  join the same server (the regulars' ratings are kept); only newcomers are evaluated.

Mean ± standard deviation over the simulated servers (seeds in the command). *ms / request* is the time
to answer one user on one core: for ours, fitting on the whole server (as each `/recommend` does) plus
ranking.

| setting | recommender | HR@10 | NDCG@10 | users evaluated | ms / request |
|---|---|---:|---:|---:|---:|
{rows}
"""


def bench_performance(stages: int = 30, e2e: int = 20, in_flight: int = 50, retrain_steps: int = 100, bars: int = 8, markdown: Path | None = None) -> None:
    """One table: per-stage p50/p99, end to end through the playground against the render+encode floor of the same
    run, acknowledgements with 50 composes in flight, event-loop lag during a retrain, composes/s, memory, GPU batching."""
    import asyncio

    from bot.config import get_settings
    from bot.loadtest import bench_e2e
    from engine.service.bench import BenchRow, bench_gpu_generation, bench_stages, print_table

    _ready_to_write(markdown)  # a benchmark of minutes must not fail at the end for want of a folder
    started = time.perf_counter()
    # The bot first, so its memory is measured before this process loads a model of its own for the stage timings.
    rows = asyncio.run(bench_e2e(n=e2e, in_flight=in_flight, bars=bars, retrain_steps=retrain_steps))
    settings = get_settings()
    stage_rows = bench_stages(stages, bars, checkpoint=settings.checkpoint, soundfont=settings.soundfont)
    floor = next(r for r in stage_rows if r.metric == "render+encode floor")
    e2e_row = next(r for r in rows if r.metric.startswith("end to end"))
    ratio = BenchRow("end to end p50 / render+encode floor p50", value=f"{e2e_row.p50_ms / floor.p50_ms:.2f}x", target="<= 1.3x")
    rows = stage_rows + [rows[0], ratio] + rows[1:] + bench_gpu_generation(bars=bars, checkpoint=settings.checkpoint)
    title = f"Tunesmith performance, {bars} bars ({time.perf_counter() - started:.0f} s)"
    print_table(rows, title)
    if markdown is not None:
        lines = ["| metric | p50 ms | p99 ms | value | n | target |", "|---|---:|---:|---:|---:|---|"]
        for r in rows:
            ms = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
            lines.append(f"| {r.metric} | {ms(r.p50_ms)} | {ms(r.p99_ms)} | {r.value} | {r.samples or ''} | {r.target} |")
        markdown.write_text(f"# {title}\n\n" + "\n".join(lines) + "\n")


def bench_generate(batch_sizes: tuple[int, ...], end_to_end: int, workers: int, device: str | None, checkpoint: Path | None) -> None:
    from engine.generate import Composer
    from engine.generate.bench import cpu_latency_ms, end_to_end_throughput, model_throughput
    from engine.service.bench import BenchRow, print_table

    composer = Composer.load(checkpoint, device, workers=workers)
    rows = [BenchRow(f"{t.what}, batch {t.batch}", t.seconds * 1000, value=f"{t.pieces_per_second:,.0f} pieces/s")
            for t in model_throughput(composer, batch_sizes)]
    e2e = end_to_end_throughput(composer, end_to_end)
    rows.append(BenchRow(f"end to end, {e2e.batch} requests", e2e.seconds * 1000, value=f"{e2e.pieces_per_second:,.0f} pieces/s",
                         target="runs " + ", ".join(f"{r:,.0f}" for r in e2e.runs_pieces_per_second)))
    if composer.device.type == "cpu":
        p50, p90 = cpu_latency_ms(composer)
        rows.append(BenchRow("one 8-bar piece, CPU", p50, value=f"p90 {p90:.1f} ms"))
    print_table(rows, f"Generation on {composer.device} (novelty check {'on' if composer.novelty else 'off'}, {workers} workers)")


def bench_load(composes: int = 1000, users: int = 50, concurrency: int = 50, bars: int = 8) -> None:
    """The load test: `composes` /compose from `users` simulated users through the playground, with ratings."""
    import asyncio

    from bot.loadtest import load_test
    from engine.service.bench import print_table

    report = asyncio.run(load_test(composes=composes, users=users, concurrency=concurrency, bars=bars))
    print_table(report.rows(), f"Load test: {composes} composes from {users} users, {concurrency} at once ({report.seconds:.0f} s)")


def bench_scale(composes: int = 24, e2e: int = 20, bars: int = 8, address: str | None = None, rounds: int = 2) -> None:
    """The engine on Ray Serve against the embedded one (needs tunesmith[scale]); see docs/DEPLOY.md."""
    from bot.config import get_settings
    from engine.service.bench import print_table
    from engine.service.ray_backend import require_ray
    from engine.service.ray_backend.bench import bench_scale as run

    require_ray()
    settings = get_settings()
    started = time.perf_counter()
    rows, facts = run(composes, e2e, bars, address, rounds, settings.checkpoint, settings.soundfont)
    print_table(rows, f"Engine on Ray Serve vs embedded, {bars} bars, {facts['cores']} cores, load {facts['load_before']:.1f} before, "
                      f"{facts['load_after']:.1f} after "
                      f"({time.perf_counter() - started:.0f} s)")
    print(f"2 vs 1 renderers: Ray x{facts['ray_speedup']:.2f}, embedded x{facts['embedded_speedup']:.2f}")


# Every benchmark with its defaults, run in this order by a bare `tunesmith bench` (the load test runs on its own).
ALL_BENCHMARKS: dict[str, Callable[[], None]] = {
    "performance": bench_performance,
    "recommend": bench_recommend,
}


def register(app: typer.Typer) -> None:
    bench_app = typer.Typer(help="Benchmarks: each prints a table of measured numbers.", invoke_without_command=True)

    @bench_app.callback()
    def run_all(ctx: typer.Context) -> None:
        """Run one benchmark (see the commands below), or every one when none is named."""
        if ctx.invoked_subcommand is None:
            for run in ALL_BENCHMARKS.values():
                run()

    @bench_app.command("recommend")
    def recommend_command(
        servers: int = typer.Option(5, "--servers", min=1, help="Simulated servers to average over"),
        users: int = typer.Option(50, "--users", min=2, help="Regular users per server"),
        tracks: int = typer.Option(500, "--tracks", min=20, help="Tracks per server"),
        newcomers: int = typer.Option(50, "--newcomers", min=1, help="New users with 1-3 ratings, for the cold start"),
        seed: int = typer.Option(7, "--seed", help="Seed of the first simulated server"),
        markdown: Path | None = typer.Option(None, "--markdown", help="Also write the table as Markdown to this file"),
    ) -> None:
        """Simulated server: users with hidden tastes rate tracks; leave-one-out HR@10 and NDCG@10 for our
        recommender, popularity and random, with 50 users x 500 tracks and a cold start (1-3 ratings)."""
        bench_recommend(servers, users, tracks, newcomers, seed, markdown)

    @bench_app.command("performance")
    def performance_command(
        stages: int = typer.Option(30, "--stages", min=1, help="Pieces timed stage by stage"),
        e2e: int = typer.Option(20, "--e2e", min=1, help="Composes sent one at a time through the playground"),
        in_flight: int = typer.Option(50, "--in-flight", min=1, help="Composes sent at once for the acknowledgement timing"),
        retrain_steps: int = typer.Option(100, "--retrain-steps", min=10, help="Steps per stage of the retrain run during the lag measurement"),
        bars: int = typer.Option(8, "--bars", min=4, max=32),
        markdown: Path | None = typer.Option(None, "--markdown", help="Also write the table as Markdown to this file"),
    ) -> None:
        """Per-stage latency, end to end through the playground, acknowledgements under load, loop lag during a retrain, memory."""
        bench_performance(stages, e2e, in_flight, retrain_steps, bars, markdown)

    @bench_app.command("load")
    def load_command(
        composes: int = typer.Option(1000, "--composes", min=1),
        users: int = typer.Option(50, "--users", min=1),
        concurrency: int = typer.Option(50, "--concurrency", min=1),
        bars: int = typer.Option(8, "--bars", min=4, max=32),
    ) -> None:
        """The load test through the playground: every answer a track or a clear busy message, every rating stored."""
        bench_load(composes, users, concurrency, bars)

    @bench_app.command("generate")
    def generate_command(
        batch_sizes: str = typer.Option("1024,4096", "--batch-sizes", help="Comma-separated batch sizes for the models-only rows"),
        end_to_end: int = typer.Option(2048, "--end-to-end", min=1, help="Requests in the end-to-end run"),
        workers: int = typer.Option(0, "--workers", min=0, help="Processes for the CPU part of large batches"),
        device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when present)"),
        checkpoint: Path | None = typer.Option(None, "--checkpoint"),
    ) -> None:
        """Generation throughput: models only and end to end (plans, forced chords, form, novelty), and CPU latency."""
        bench_generate(tuple(int(x) for x in batch_sizes.split(",")), end_to_end, workers, device, checkpoint)

    # --- issue 16: the engine on Ray Serve (engine.service.ray_backend.bench) ---
    @bench_app.command("scale")
    def scale_command(
        composes: int = typer.Option(24, "--composes", min=2, help="Composes submitted at once for each throughput row"),
        e2e: int = typer.Option(20, "--e2e", min=1, help="Composes sent one at a time for the p50 rows"),
        bars: int = typer.Option(8, "--bars", min=4, max=32),
        address: str | None = typer.Option(None, "--address", help="A running Ray cluster's host:port (default: start one on 127.0.0.1)"),
        rounds: int = typer.Option(2, "--rounds", min=1, help="Rounds of the four throughput runs, taking turns"),
    ) -> None:
        """Throughput with 1 and 2 render replicas on Ray Serve (and 1 and 2 embedded workers), and the Ray path's p50 overhead."""
        bench_scale(composes, e2e, bars, address, rounds)

    app.add_typer(bench_app, name="bench")
