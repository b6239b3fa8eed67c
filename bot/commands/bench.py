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
    """Leave-one-out HR@10 / NDCG@10 under full ranking, with 95% bootstrap intervals over users, of the recommender
    against item-kNN, ALS (`implicit`), popularity and random on simulated servers."""
    from rich.console import Console
    from rich.table import Table

    from storage.recommend_eval import run_benchmark

    _ready_to_write(markdown)
    console = Console()
    with _one_blas_thread(console):
        started = time.perf_counter()
        summaries = run_benchmark(servers=servers, n_users=users, n_tracks=tracks, n_new=newcomers, seed=seed)
        elapsed = time.perf_counter() - started

    title = f"Recommendations, leave-one-out under full ranking, {servers} simulated servers (seed {seed}): mean [95% bootstrap CI over users]"
    table = Table(title=title)
    for column in ("setting", "recommender", "HR@10", "NDCG@10", "ours' HR@10 lead, paired", "users evaluated", "ms / request"):
        table.add_column(column, justify="left" if column in ("setting", "recommender") else "right")
    previous = None
    for s in summaries:
        if previous is not None and s.scenario != previous:
            table.add_section()
        table.add_row(
            s.scenario if s.scenario != previous else "",
            s.recommender,
            _with_ci(s.hit_rate, s.hit_rate_ci),
            _with_ci(s.ndcg, s.ndcg_ci),
            _gap(s),
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


def _gap(summary: Summary) -> str:
    if summary.gap_to_ours is None:
        return "-"
    mean, low, high = summary.gap_to_ours
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def _with_ci(mean: float, ci: tuple[float, float]) -> str:
    return f"{mean:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


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
        f"| {s.scenario} | {s.recommender} | {_with_ci(s.hit_rate, s.hit_rate_ci)} | {_with_ci(s.ndcg, s.ndcg_ci)} | {_gap(s)} | {s.users} | {_milliseconds(s)} |"
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
ranks all tracks the user neither rated nor made (full ranking: no sampled negatives), and HR@10 / NDCG@10
say where the held-out one came.

- **ours**: `storage.recommender.Recommender`, the code `/recommend` runs (content similarity on latent,
  features, style and mood + a per-user ridge taste model + item-kNN + a popularity prior).
- **item-kNN**: item-based kNN on implicit feedback (likes: 4 -> 1, 5 -> 2), cosine similarity, 50 neighbours.
- **ALS (implicit)**: implicit-feedback ALS from the `implicit` library (16 factors, regularisation 1.0,
  15 iterations, confidence 1 + like), user x item factors over every candidate. Its settings and
  item-kNN's were the best of a small grid on servers with seeds 100-102, apart from these.
- **popularity**: most liked (ratings of 4-5) first. **random**: a random order per user.
- **hidden taste (ceiling)**: ranks by the users' true, noise-free taste; no recommender can know it.
- *50 users x 500 tracks*: every user has 20-60 ratings. *cold start*: 50 newcomers with 1-3 ratings
  join the same server (the regulars' ratings are kept); only newcomers are evaluated.

Each cell is the mean over every evaluated user of all simulated servers (seeds in the command), with a 95%
percentile-bootstrap interval (2,000 resamples of users). *Ours' HR@10 lead* is ours minus that
recommender, user by user on the same held-out tracks, with its own bootstrap interval: an interval above 0
means ours is ahead beyond the noise even where the two intervals beside it overlap. *ms / request* is the time to answer one user on
one core: fitting on the whole server (as each `/recommend` does for ours; the baselines' fit is counted the
same way) plus ranking.

| setting | recommender | HR@10 | NDCG@10 | ours' HR@10 lead, paired | users evaluated | ms / request |
|---|---|---:|---:|---:|---:|---:|
{rows}
"""


async def seed_library(storage, guild_id: int, channel_id: int, n_tracks: int, n_ratings: int, n_members: int, seed: int = 0) -> list[int]:
    """`n_tracks` tracks (with latents, features and 8 bars of tokens) and `n_ratings` ratings from `n_members`
    members in one server; returns the members' ids. Written straight into the database, in a few transactions."""
    import numpy as np

    from engine.labels import MOODS, STYLES
    from storage import NewTrack
    from storage.database import utc_now
    from storage.tracks import _COLUMNS  # the same columns TrackRepository.add writes
    from storage import codec

    rng = np.random.default_rng(seed)
    members = [10_000_000 + i for i in range(n_members)]
    moods = list(MOODS)
    now = utc_now()
    async with storage.db.transaction() as tx:
        for user in members:
            await tx.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", (user, now, now))
        first = int((await tx.fetchone("SELECT COALESCE(MAX(id), 0) AS top FROM tracks"))["top"]) + 1
        for i in range(n_tracks):
            new = NewTrack(guild_id=guild_id, channel_id=channel_id, user_id=members[int(rng.integers(n_members))], style=STYLES[int(rng.integers(len(STYLES)))],
                           mood=moods[int(rng.integers(len(moods)))], key="C", tempo=float(rng.uniform(70, 160)), bars=8, seed=i, sampler="gan", model_version="bench",
                           latent=rng.normal(size=96).astype(np.float32),
                           features={"density": float(rng.uniform(1, 8)), "pitch_mean": float(rng.normal(68, 5)), "pitch_range": float(rng.uniform(5, 30))},
                           tokens={"melody": rng.integers(0, 90, 128).astype(np.int16), "chords": rng.integers(0, 100, 32).astype(np.int16)})
            values = {name: getattr(new, name) for name in _COLUMNS if name not in ("latent", "features", "tokens", "created_at")}
            values.update(latent=codec.encode_latent(new.latent), features=codec.encode_features(new.features), tokens=codec.encode_tokens(new.tokens), created_at=now)
            await tx.execute(f"INSERT INTO tracks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", [values[name] for name in _COLUMNS])
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < n_ratings:
            pairs.add((members[int(rng.integers(n_members))], first + int(rng.integers(n_tracks))))
        for user, track in pairs:
            await tx.execute("INSERT INTO ratings (user_id, track_id, score, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                             (user, track, int(rng.integers(1, 6)), now, now))
    return members


STAGGER_S = 0.25  # between the overlapping /recommend requests of `tunesmith bench recommend-ack`


async def measure_recommend_acks(tracks: int, ratings: int, members: int, requests: int, concurrent: int, data_dir: Path | None = None) -> dict[str, list[float]]:
    """/recommend through the playground with the real discord.py client on a seeded library: seconds from the
    command to its acknowledgement and to its answer, one at a time and `concurrent` overlapping (STAGGER_S apart)."""
    import asyncio
    import tempfile

    from bot.loadtest import running_bot

    folder = Path(data_dir or tempfile.mkdtemp(prefix="recommend-bench-"))
    out: dict[str, list[float]] = {"ack": [], "answer": [], "ack_concurrent": [], "answer_concurrent": []}
    async with running_bot(folder, users=0, start_engine=False) as (playground, bot):
        channel_id = next(iter(playground.state.guild.channels))
        started = time.perf_counter()
        ids = await seed_library(bot.services.storage, playground.guild_id, channel_id, tracks, ratings, members)
        out["seed_seconds"] = [time.perf_counter() - started]
        users = []
        for i in range(min(members, max(requests, concurrent))):
            user = playground.add_user(f"rater{i:04d}", admin=False)
            users.append(user)
        # Playground members get their own ids; give each the ratings of one seeded member.
        async with bot.services.storage.db.transaction() as tx:
            now = "2026-12-01T00:00:00+00:00"
            for user, seeded in zip(users, ids):
                await tx.execute("INSERT INTO users (id, created_at, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", (user.id, now, now))
                await tx.execute("UPDATE ratings SET user_id = ? WHERE user_id = ?", (user.id, seeded))

        async def one(name: str) -> tuple[float, float]:
            t0 = time.perf_counter()
            handle = await playground.run_command(name, "recommend", {})
            await handle.acknowledged(timeout=10)
            ack = time.perf_counter() - t0
            await handle.followup(timeout=120)
            return ack, time.perf_counter() - t0

        await one(users[0].name)  # warm-up: first imports and caches
        for i in range(requests):
            ack, answer = await one(users[i % len(users)].name)
            out["ack"].append(ack)
            out["answer"].append(answer)
        async def later(i: int, name: str) -> tuple[float, float]:
            await asyncio.sleep(i * STAGGER_S)  # each arrives while the ones before it are being ranked
            return await one(name)

        results = await asyncio.gather(*(later(i, u.name) for i, u in enumerate(users[:concurrent])))
        out["ack_concurrent"] = [a for a, _ in results]
        out["answer_concurrent"] = [b for _, b in results]
    return out


def bench_recommend_ack(tracks: int = 10_000, ratings: int = 50_000, members: int = 500, requests: int = 30, concurrent: int = 10) -> None:
    """`/recommend`'s acknowledgement and answer times with a large library, through the playground."""
    import asyncio

    import numpy as np
    from rich.console import Console
    from rich.table import Table

    started = time.perf_counter()
    timings = asyncio.run(measure_recommend_acks(tracks, ratings, members, requests, concurrent))
    table = Table(title=f"/recommend with {tracks:,} tracks and {ratings:,} ratings from {members} members ({time.perf_counter() - started:.0f} s)")
    for column in ("metric", "p50 ms", "p99 ms", "max ms", "n", "target"):
        table.add_column(column, justify="left" if column in ("metric", "target") else "right")
    labels = {"ack": ("acknowledgement, one at a time", "p99 <= 100 ms"), "answer": ("answer (ranked picks), one at a time", ""),
              "ack_concurrent": (f"acknowledgement, {concurrent} overlapping ({STAGGER_S * 1000:.0f} ms apart, others being ranked)", "p99 <= 100 ms"),
              "answer_concurrent": (f"answer, {concurrent} overlapping", "")}
    for key, (label, target) in labels.items():
        ms = np.array(timings[key]) * 1000
        table.add_row(label, f"{np.percentile(ms, 50):.1f}", f"{np.percentile(ms, 99):.1f}", f"{ms.max():.1f}", str(len(ms)), target)
    table.add_row("seeding the library (not a target)", "", "", f"{timings['seed_seconds'][0] * 1000:.0f}", "1", "")
    Console().print(table)


def bench_taste(members: int = 12, ratings: int = 40, heavy_ratings: int = 1000, library: int = 1100, new_tracks: int = 300, steps: int = 300,
                seed: int = 0, markdown: Path | None = None) -> None:
    """Simulated communities on the shipped model: server A's retrain lifts its members' mean rating of new
    tracks, server B's tracks do not change, and one member rating 1,000 tracks cannot swing A's taste."""
    from rich.console import Console
    from rich.table import Table

    from engine.generate import Composer
    from engine.taste import simulate

    _ready_to_write(markdown)
    console = Console()
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    composer = Composer.load(device="cpu")
    report = simulate.run(composer, library_a=max(library, heavy_ratings), library_b=max(50, library // 4), members=members, ratings_per_member=ratings,
                          troll_ratings=heavy_ratings, new_tracks=new_tracks, steps=steps, seed=seed)
    elapsed = time.perf_counter() - started
    table = Table(title=f"Per-server taste on simulated communities (seed {seed}, {elapsed:.0f} s)")
    for column in ("new tracks of", "mean rating before", "after", "difference [95% CI]", "tracks", "identical"):
        table.add_column(column, justify="left" if column == "new tracks of" else "right")
    rows = [(o.label, f"{o.before:.2f}", f"{o.after:.2f}", f"{o.difference:+.2f} [{o.low:+.2f}, {o.high:+.2f}]", str(o.tracks), str(o.identical)) for o in report.outcomes]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    train = Table(title="Taste training runs (CPU, 1 thread)")
    for column in ("run", "raters", "largest share (uncapped)", "held-out corr.", "held-out MSE (of mean)", "latent move (std)", "used", "seconds"):
        train.add_column(column, justify="left" if column == "run" else "right")
    train_rows = [(label, str(m["raters"]), f"{m['largest_member_share']:.2f} ({m['largest_member_share_uncapped']:.2f})", f"{m['held_out_correlation']:.2f}",
                   f"{m['held_out_mse']:.2f} ({m['held_out_mse_of_mean']:.2f})", f"{m['latent_move_rms_std']:.2f}", "yes" if m["promote"] else "no", f"{m['seconds']:.1f}")
                  for label, m in report.training.items()]
    for row in train_rows:
        train.add_row(*row)
    console.print(train)
    if markdown is not None:
        command = (f"tunesmith bench taste --members {members} --ratings {ratings} --heavy-ratings {heavy_ratings} --library {library} "
                   f"--new-tracks {new_tracks} --steps {steps} --seed {seed}")
        lines = [f"Reproduce with `{command}`; it took {elapsed:.0f} s.", "", "| new tracks of | mean rating before | after | difference [95% CI] | tracks | identical |",
                 "|---|---:|---:|---:|---:|---:|"] + [f"| {' | '.join(r)} |" for r in rows]
        lines += ["", "| training run | raters | largest share (uncapped) | held-out corr. | held-out MSE (of mean) | latent move (std) | used | seconds |",
                  "|---|---:|---:|---:|---:|---:|---|---:|"] + [f"| {' | '.join(r)} |" for r in train_rows]
        markdown.write_text("# Per-server taste: simulated communities\n\n" + "\n".join(lines) + "\n")


def bench_performance(stages: int = 30, e2e: int = 20, in_flight: int = 50, retrain_steps: int = 100, bars: int = 8, markdown: Path | None = None) -> None:
    """One table: per-stage p50/p99, end to end through the playground against the render+encode floor of the same
    run, acknowledgements with 50 composes in flight, event-loop lag during a retrain, composes/s, memory, GPU batching."""
    import asyncio

    from bot.config import get_settings
    from bot.loadtest import bench_e2e
    from engine.service.bench import BenchRow, bench_gpu_generation, bench_stages, by_key, print_table

    _ready_to_write(markdown)  # a benchmark of minutes must not fail at the end for want of a folder
    started = time.perf_counter()
    # The bot first, so its memory is measured before this process loads a model of its own for the stage timings.
    rows = asyncio.run(bench_e2e(n=e2e, in_flight=in_flight, bars=bars, retrain_steps=retrain_steps))
    settings = get_settings()
    stage_rows = bench_stages(stages, bars, checkpoint=settings.checkpoint, soundfont=settings.soundfont)
    floor = by_key(stage_rows)["stage.floor"]
    e2e_row = by_key(rows)["e2e.end_to_end"]
    ratio = BenchRow("end to end p50 / render+encode floor p50", value=f"{e2e_row.p50_ms / floor.p50_ms:.2f}x", target="<= 1.3x", key="e2e.over_floor")
    others = [r for r in rows if r is not e2e_row]
    rows = stage_rows + [e2e_row, ratio] + others + bench_gpu_generation(bars=bars, checkpoint=settings.checkpoint)
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
    rows = [BenchRow(f"{t.what}, batch {t.batch}", t.seconds * 1000, value=f"{t.pieces_per_second:,.0f} pieces/s", key=f"generate.batch_{t.batch}")
            for t in model_throughput(composer, batch_sizes)]
    e2e = end_to_end_throughput(composer, end_to_end)
    rows.append(BenchRow(f"end to end, {e2e.batch} requests", e2e.seconds * 1000, value=f"{e2e.pieces_per_second:,.0f} pieces/s",
                         target="runs " + ", ".join(f"{r:,.0f}" for r in e2e.runs_pieces_per_second), key="generate.end_to_end"))
    if composer.device.type == "cpu":
        p50, p90 = cpu_latency_ms(composer)
        rows.append(BenchRow("one 8-bar piece, CPU", p50, value=f"p90 {p90:.1f} ms", key="generate.cpu_one_piece"))
    print_table(rows, f"Generation on {composer.device} (novelty check {'on' if composer.novelty else 'off'}, {workers} workers)")


def bench_load(composes: int = 1000, users: int = 50, concurrency: int = 50, bars: int = 8) -> None:
    """The load test: `composes` /compose from `users` simulated users through the playground, with ratings."""
    import asyncio

    from bot.loadtest import load_test
    from engine.service.bench import print_table

    report = asyncio.run(load_test(composes=composes, users=users, concurrency=concurrency, bars=bars))
    print_table(report.rows(), f"Load test: {composes} composes from {users} users, {concurrency} at once ({report.seconds:.0f} s)")


def bench_scale_shards(shards: int, composes: int, e2e: int, bars: int, address: str | None, faults: int, database_url: str = "") -> None:
    """The whole sharded bot (bot.scale): shard processes, the playground, embedded engines or a Ray cluster."""
    import asyncio

    from engine.service.bench import print_table
    from engine.service.ray_backend import require_ray

    from bot.scale import bench_shards

    require_ray()
    started = time.perf_counter()
    rows, facts = asyncio.run(bench_shards(shards, composes, e2e, bars, address, faults, database_url))
    print_table(rows, f"Sharded bot: {shards} shard processes, playground, {bars} bars, {facts['cores']} cores, load "
                      f"{facts['load_before']:.1f} before, {facts['load_after']:.1f} after ({time.perf_counter() - started:.0f} s)")
    if "ray_speedup" in facts:
        print(f"2 vs 1 render replicas per shard on Ray: x{facts['ray_speedup']:.2f}")


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
    "taste": bench_taste,
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
        """Simulated server: users with hidden tastes rate tracks; leave-one-out HR@10 and NDCG@10 under full ranking,
        with bootstrap intervals, for our recommender, item-kNN, ALS, popularity and random (warm and cold start)."""
        bench_recommend(servers, users, tracks, newcomers, seed, markdown)

    @bench_app.command("recommend-ack")
    def recommend_ack_command(
        tracks: int = typer.Option(10_000, "--tracks", min=10),
        ratings: int = typer.Option(50_000, "--ratings", min=1),
        members: int = typer.Option(500, "--members", min=2),
        requests: int = typer.Option(30, "--requests", min=1, help="/recommend sent one at a time"),
        concurrent: int = typer.Option(10, "--concurrent", min=1, help="overlapping /recommend, 250 ms apart"),
    ) -> None:
        """/recommend through the playground on a large seeded library: acknowledgement and answer latency."""
        if ratings > tracks * members:
            raise typer.BadParameter(f"{ratings} ratings do not fit {tracks} tracks x {members} members", param_hint="--ratings")
        bench_recommend_ack(tracks, ratings, members, requests, concurrent)

    @bench_app.command("taste")
    def taste_command(
        members: int = typer.Option(12, "--members", min=3, help="Members per simulated server"),
        ratings: int = typer.Option(40, "--ratings", min=5, help="Ratings per member"),
        heavy_ratings: int = typer.Option(1000, "--heavy-ratings", min=1, help="Ratings of the one member with the opposite taste"),
        library: int = typer.Option(1100, "--library", min=50, help="Tracks in server A's library (at least --heavy-ratings)"),
        new_tracks: int = typer.Option(300, "--new-tracks", min=10, help="New tracks composed per comparison"),
        steps: int = typer.Option(300, "--steps", min=10, help="Actor training steps"),
        seed: int = typer.Option(0, "--seed"),
        markdown: Path | None = typer.Option(None, "--markdown", help="Also write the tables as Markdown to this file"),
    ) -> None:
        """Simulated communities of distinct taste: a server's retrain lifts its own ratings only, and no member can swing it."""
        bench_taste(members, ratings, heavy_ratings, library, new_tracks, steps, seed, markdown)

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
        composes: int = typer.Option(24, "--composes", min=0, help="Composes submitted at once for each throughput row (0 with --shards: no throughput rows)"),
        e2e: int = typer.Option(20, "--e2e", min=1, help="Composes sent one at a time for the p50 rows"),
        bars: int = typer.Option(8, "--bars", min=4, max=32),
        address: str | None = typer.Option(None, "--address", help="A running Ray cluster's host:port (default: start one on 127.0.0.1)"),
        rounds: int = typer.Option(2, "--rounds", min=1, help="Rounds of the four throughput runs, taking turns"),
        shards: int = typer.Option(0, "--shards", min=0, help="The whole bot as N shard processes through the playground (0: the engine alone)"),
        faults: int = typer.Option(0, "--faults", min=0, help="With --shards: then this many composes with a render replica and shard 1 killed"),
        database_url: str = typer.Option("", "--database-url", help="With --shards: the shared database (a postgresql:// URL; default one SQLite file)"),
    ) -> None:
        """Throughput with 1 and 2 render replicas on Ray Serve (and 1 and 2 embedded workers), and the Ray path's p50 overhead.
        With --shards N the same comparison for the whole sharded bot (N shard processes, the playground, one database)."""
        if shards:
            bench_scale_shards(shards, composes, e2e, bars, address, faults, database_url)
        else:
            bench_scale(composes, e2e, bars, address, rounds)

    @bench_app.command("render")
    def render_command(
        style: str = typer.Option("jazz", "--style"),
        mood: str = typer.Option("happy", "--mood"),
        repeats: int = typer.Option(3, "--repeats", min=1, help="Best of this many seeds"),
    ) -> None:
        """Arrange, render, encode and picture times for 8, 16 and 32 bars, as multiples of real time."""
        from engine.render.bench import print_bench

        print_bench(style, mood, repeats)

    @bench_app.command("service")
    def service_command(
        stages: int = typer.Option(30, "--stages", min=1, help="Pieces for the per-stage timings"),
        latency: int = typer.Option(20, "--latency", min=1, help="Pieces sent one at a time through the service"),
        seconds: float = typer.Option(20.0, "--seconds", min=0.1, help="Length of the throughput run"),
        in_flight: int = typer.Option(50, "--in-flight", min=1, help="Composes submitted at once"),
        bars: int = typer.Option(8, "--bars", min=4, max=32),
        workers: int = typer.Option(2, "--workers", min=1, help="Render worker processes"),
        checkpoint: Path | None = typer.Option(None, "--checkpoint"),
        soundfont: Path | None = typer.Option(None, "--soundfont"),
    ) -> None:
        """The engine alone: per-stage latency, latency and throughput through the service, loop lag, memory, GPU batching."""
        from engine.service.bench import bench_service

        bench_service(stages, latency, seconds, in_flight, bars, workers, checkpoint, soundfont)

    app.add_typer(bench_app, name="bench")
