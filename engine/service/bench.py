"""Engine benchmark: per-stage latency, latency and throughput through the service, loop lag, memory, GPU batching.

    tunesmith bench service                 # everything this machine can run, as one table
    tunesmith bench service --stages 10 --seconds 10

The functions are what `tunesmith bench` calls; each returns plain rows so the CLI can add its own
(end to end through the playground) to the same table.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.request import ComposeRequest
from engine.service.errors import EngineBusy, EngineFailure
from engine.service.jobs import EngineJob, JobTimings
from engine.service.lag import LoopLagMonitor, percentile
from engine.service.memory import resident_bytes
from engine.service.service import MiB, EngineService
from engine.labels import MOODS, STYLES

STAGES = ("generate", "arrange", "render", "encode", "picture")


@dataclass(frozen=True)
class BenchRow:
    """One line of the benchmark table. Latencies in milliseconds; `value` for single numbers (rates, memory).

    `metric` is the line as printed (it may name the run's parameters); `key` names the row for code that
    looks it up ("latency.e2e", "stage.floor"): `by_key(rows)["stage.floor"]`, never a position in the list.
    """

    metric: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    value: str = ""
    samples: int = 0
    target: str = ""
    key: str = ""


def by_key(rows: list[BenchRow]) -> dict[str, BenchRow]:
    """The named rows of a table by their key (rows without one are left out); a key used twice is an error."""
    named: dict[str, BenchRow] = {}
    for row in rows:
        if not row.key:
            continue
        if row.key in named:
            raise ValueError(f"two benchmark rows are named {row.key!r}")
        named[row.key] = row
    return named


def requests(bars: int) -> Iterator[ComposeRequest]:
    """Every style and mood in turn, fixed seeds: the same workload on every run."""
    for seed, (style, mood) in enumerate(itertools.cycle(itertools.product(STYLES, MOODS))):
        yield ComposeRequest(style=style, mood=mood, bars=bars, seed=seed).validated()


def latency_row(metric: str, seconds: list[float], target: str = "", key: str = "") -> BenchRow:
    return BenchRow(metric, percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000, samples=len(seconds), target=target, key=key)


def bench_stages(n: int = 30, bars: int = 8, checkpoint: Path | None = None, soundfont: Path | None = None) -> list[BenchRow]:
    """Each stage alone, one piece at a time in this process (no contention): the floor the service is judged by."""
    from engine.render import AudioRenderer, render_track
    from engine.service.model_worker import load_composer

    composer = load_composer(checkpoint)
    renderer = AudioRenderer(soundfont)
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    floor: list[float] = []
    for request in itertools.islice(requests(bars), n):
        started = time.perf_counter()
        [composition] = composer.generate([request])
        samples["generate"].append(time.perf_counter() - started)
        track = render_track(composition.piece, composition.plan, renderer, 8 * MiB)
        for stage in STAGES[1:]:
            samples[stage].append(getattr(track.timings, stage))
        floor.append(track.timings.render + track.timings.encode)
    rows = [latency_row(stage, samples[stage], key=f"stage.{stage}") for stage in STAGES]
    rows.append(latency_row("render+encode floor", floor, key="stage.floor"))
    return rows


def bench_latency(n: int = 20, bars: int = 8, **service_options: Any) -> list[BenchRow]:
    """One job at a time through the service (submit -> TrackResult): the service's share of end-to-end latency,
    with where the time went (the floor is render+encode of the same jobs, measured in the workers)."""

    async def run() -> list[JobTimings]:
        async with EngineService(**service_options) as service:
            timings = []
            for request in itertools.islice(requests(bars), n + 1):
                result = await service.submit(EngineJob.compose(request, user_key="bench:latency")).result()
                timings.append(result.timings)
            return timings[1:]  # the first job warms caches in the workers

    timings = asyncio.run(run())

    def column(key: str) -> list[float]:
        return [getattr(t, key) for t in timings]

    totals = column("total")
    floor = [t.render + t.encode for t in timings]
    overhead = [t.total - t.generate - t.render_stage for t in timings]  # queueing, batching, hand-offs
    ratio = statistics.median(totals) / statistics.median(floor)
    return [
        latency_row("service end to end, 1 in flight", totals, target="p99 <= 1000 ms", key="latency.e2e"),
        latency_row("  of which generate", column("generate"), key="latency.generate"),
        latency_row("  of which worker (arrange..picture + IPC)", column("render_stage"), key="latency.worker"),
        latency_row("  of which service overhead", overhead, key="latency.overhead"),
        latency_row("  render+encode floor, same jobs", floor, key="latency.floor"),
        BenchRow("  e2e p50 / floor p50", value=f"{ratio:.2f}x", samples=len(totals), target="<= 1.3x (playground e2e)", key="latency.e2e_over_floor"),
    ]


@dataclass(frozen=True)
class ThroughputResult:
    composes_per_second: float
    completed: int
    failed: int
    totals: list[float]
    lag_p50_ms: float
    lag_p99_ms: float
    mean_batch_size: float
    memory: list[BenchRow]  # measured while the service was under load


def bench_throughput(seconds: float = 20.0, bars: int = 8, concurrency: int | None = None, **service_options: Any) -> ThroughputResult:
    """Keep `concurrency` composes in flight for `seconds` and count completions per second once warm."""

    async def run() -> ThroughputResult:
        async with EngineService(**service_options) as service:
            clients = concurrency or 2 * service.stats().render_workers + 2
            loop = asyncio.get_running_loop()
            stop_at = loop.time() + seconds
            finished: list[float] = []
            totals: list[float] = []
            failed = 0
            source = requests(bars)

            async def client(index: int) -> None:
                nonlocal failed
                while loop.time() < stop_at:
                    try:
                        result = await service.submit(EngineJob.compose(next(source), user_key=f"bench:{index}")).result()
                    except (EngineFailure, EngineBusy):
                        failed += 1
                        continue
                    finished.append(loop.time())
                    totals.append(result.timings.total)

            async with LoopLagMonitor() as lag:
                await asyncio.gather(*(client(i) for i in range(clients)))
            stats = service.stats()
            memory = memory_rows(service.render_worker_pids(), service.model_pid())
        # Rate between the first and last completion: leaves out the pipeline filling up.
        span = finished[-1] - finished[0] if len(finished) > 1 else float("nan")
        summary = lag.summary()
        return ThroughputResult((len(finished) - 1) / span, len(finished), failed, totals, summary.p50_ms, summary.p99_ms,
                                stats.mean_batch_size, memory)

    return asyncio.run(run())


def bench_in_flight(jobs: int = 50, bars: int = 8, **service_options: Any) -> list[BenchRow]:
    """`jobs` composes submitted at once by different users: how long submit() takes (the work between a slash
    command and its acknowledgement) and how late the event loop runs while they drain."""

    async def run() -> list[BenchRow]:
        # Every job must finish: the queue holds them all and nobody times out while the last ones wait.
        options = {"queue_cap": max(jobs, 100), "timeout_s": 3600.0, **service_options}
        async with EngineService(**options) as service:
            async with LoopLagMonitor() as lag:
                submit_seconds: list[float] = []
                tickets = []
                for index, request in enumerate(itertools.islice(requests(bars), jobs)):
                    started = time.perf_counter()
                    tickets.append(service.submit(EngineJob.compose(request, user_key=f"bench:{index}")))
                    submit_seconds.append(time.perf_counter() - started)
                    await asyncio.sleep(0)  # one slash command per loop turn, as the gateway delivers them
                outcomes = await asyncio.gather(*(t.result() for t in tickets), return_exceptions=True)
            failures = sum(isinstance(o, BaseException) for o in outcomes)
        summary = lag.summary()
        return [
            latency_row(f"submit with {jobs} in flight", submit_seconds, key="in_flight.submit"),
            BenchRow(f"event-loop lag, {jobs} in flight", summary.p50_ms, summary.p99_ms, samples=summary.samples, target="p99 <= 50 ms",
                     key="in_flight.loop_lag"),
            BenchRow(f"  {jobs} composes drained", value=f"{jobs - failures} ok, {failures} failed", samples=jobs, key="in_flight.drained"),
        ]

    return asyncio.run(run())


def bench_gpu_generation(batch_sizes: tuple[int, ...] = (1, 4, 16, 64), bars: int = 8, repeats: int = 5,
                         checkpoint: Path | None = None) -> list[BenchRow]:
    """Pieces per second from Composer.generate at each batch size, on CUDA. Empty without a GPU."""
    import torch

    if not torch.cuda.is_available():
        return []
    from engine.service.model_worker import load_composer

    composer = load_composer(checkpoint)
    source = requests(bars)
    rows = []
    for size in batch_sizes:
        composer.generate(list(itertools.islice(source, size)))  # warm-up: kernels, allocator
        torch.cuda.synchronize()
        seconds = []
        for _ in range(repeats):
            batch = list(itertools.islice(source, size))
            started = time.perf_counter()
            composer.generate(batch)
            torch.cuda.synchronize()
            seconds.append(time.perf_counter() - started)
        per_second = size / statistics.median(seconds)
        rows.append(BenchRow(f"GPU generate, batch {size}", percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000,
                             value=f"{per_second:.1f} pieces/s", samples=repeats, key=f"gpu.batch_{size}"))
    return rows


def memory_rows(worker_pids: list[int] | None = None, model_pid: int | None = None) -> list[BenchRow]:
    """Resident memory of this (the bot's) process, and of the model process and render workers when given."""
    rows = [BenchRow("resident memory, bot process", value=f"{resident_bytes() / MiB:.0f} MB", target="<= 600 MB", key="memory.bot")]
    if model_pid:
        rows.append(BenchRow("resident memory, model process", value=f"{resident_bytes(model_pid) / MiB:.0f} MB", key="memory.model"))
    if worker_pids:
        each = [resident_bytes(pid) / MiB for pid in worker_pids]
        rows.append(BenchRow("resident memory, render workers", value=" + ".join(f"{m:.0f}" for m in each) + " MB", key="memory.render_workers"))
    return rows


def print_table(rows: list[BenchRow], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column, justify in (("metric", "left"), ("p50 ms", "right"), ("p99 ms", "right"), ("value", "right"), ("n", "right"), ("target", "left")):
        table.add_column(column, justify=justify)

    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    for row in rows:
        table.add_row(row.metric, ms(row.p50_ms), ms(row.p99_ms), row.value, str(row.samples or ""), row.target)
    Console().print(table)


def bench_service(stages: int = 30, latency: int = 20, seconds: float = 20.0, in_flight: int = 50, bars: int = 8, workers: int = 2,
                  checkpoint: Path | None = None, soundfont: Path | None = None) -> None:
    """Every engine measurement this machine can run, printed as one table (`tunesmith bench service`)."""
    service = dict(checkpoint=checkpoint, soundfont=soundfont, render_workers=workers)

    # The service runs first: its bot-process memory is measured before this script loads a model and a
    # synthesiser of its own for the per-stage timings.
    rows: list[BenchRow] = []
    try:
        rows += bench_latency(latency, bars, **service)
        throughput = bench_throughput(seconds, bars, **service)
        rows.append(latency_row("service end to end, saturated", throughput.totals, key="throughput.e2e"))
        rows.append(BenchRow("composes per second, sustained", value=f"{throughput.composes_per_second:.2f}/s",
                             samples=throughput.completed, target=f"{throughput.failed} failed, mean batch {throughput.mean_batch_size:.1f}",
                             key="throughput.composes_per_second"))
        rows.append(BenchRow("event-loop lag, saturated", throughput.lag_p50_ms, throughput.lag_p99_ms, target="p99 <= 50 ms", key="throughput.loop_lag"))
        rows += bench_in_flight(in_flight, bars, **service)
        rows += throughput.memory
        rows += bench_stages(stages, bars, checkpoint, soundfont)
        rows += bench_gpu_generation(bars=bars, checkpoint=checkpoint)
    finally:  # a failing section still shows what was measured before it
        print_table(rows, f"Tunesmith engine, {bars} bars, {os.cpu_count()} CPUs, {workers} render workers")
