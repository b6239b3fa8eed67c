"""`tunesmith bench scale`: the engine on Ray Serve against the embedded one, with the real model and renderer.

Measures:
  - p50 end to end (submit -> TrackResult, one job at a time) with one render worker, embedded and on Ray,
    the two services up together and taking turns job by job;
  - throughput (composes/s with `composes` jobs submitted at once by as many users) with 1 and 2 render
    workers embedded, and 1 and 2 render replicas on Ray, taking turns, `rounds` rounds.
Without an address it starts a local Ray cluster on 127.0.0.1 (a head and one more node, 2 CPUs each) and
stops it at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.service.bench import BenchRow, latency_row, requests
from engine.service.jobs import EngineJob
from engine.service.service import EngineService


@dataclass(frozen=True)
class ScaleRun:
    backend: str
    renderers: int
    composes_per_second: float
    totals: list[float]


async def _alternating_latency(embedded: Callable[[], EngineService], on_ray: Callable[[], EngineService], n: int, bars: int) -> tuple[list[float], list[float]]:
    """Both services up at once, one job at a time, alternating between them: on a shared machine both
    see the same background load, which running one after the other would not give them."""
    async with embedded() as local, on_ray() as remote:
        totals: dict[int, list[float]] = {0: [], 1: []}
        for i, request in enumerate(itertools.islice(requests(bars), 2 * (n + 2))):
            side = i % 2
            service = (local, remote)[side]
            result = await service.submit(EngineJob.compose(request, user_key="bench:latency")).result()
            if i >= 4:  # the first two of each warm caches
                totals[side].append(result.timings.total)
        return totals[0], totals[1]


async def _throughput(make: Callable[[], EngineService], n: int, bars: int) -> tuple[float, list[float]]:
    async with make() as service:
        for request in itertools.islice(requests(bars), 2):  # warm-up, one at a time
            await service.submit(EngineJob.compose(request, user_key="bench:warm")).result()
        started = time.perf_counter()
        tickets = [service.submit(EngineJob.compose(r, user_key=f"bench:{i}")) for i, r in enumerate(itertools.islice(requests(bars), n))]
        results = await asyncio.gather(*(t.result() for t in tickets))
        elapsed = time.perf_counter() - started
        return n / elapsed, [r.timings.total for r in results]


def bench_scale(composes: int = 24, e2e: int = 20, bars: int = 8, address: str | None = None, rounds: int = 2,
                checkpoint: Path | None = None, soundfont: Path | None = None) -> tuple[list[BenchRow], dict[str, Any]]:
    """Every configuration runs with the Ray cluster up (idle when it is not the one measured), and the
    throughput runs take turns (embedded 1, Ray 1, embedded 2, Ray 2) for `rounds` rounds: the median of
    the rounds is reported, the spread in the row's target column."""
    from engine.service.ray_backend import LocalRayCluster, connect, ray_engine_service

    common: dict[str, Any] = {"queue_cap": composes + 10, "timeout_s": 600.0}
    load_before = os.getloadavg()[0]

    def embedded(workers: int) -> Callable[[], EngineService]:
        return lambda: EngineService(checkpoint, soundfont, render_workers=workers, **common)

    cluster = None
    if address is None:
        cluster = LocalRayCluster(head_cpus=2, workers=1, worker_cpus=2)
        address = cluster.start()
    try:
        connect(address)

        def on_ray(replicas: int) -> Callable[[], EngineService]:
            return lambda: ray_engine_service(checkpoint, soundfont, address=address, app_name=f"bench{replicas}",
                                              render_replicas=replicas, **common)

        embedded_totals, ray_totals = asyncio.run(_alternating_latency(embedded(1), on_ray(1), e2e, bars))
        runs: dict[tuple[str, int], list[tuple[float, list[float]]]] = {}
        for _ in range(rounds):
            for key, make in ((("embedded", 1), embedded(1)), (("Ray", 1), on_ray(1)), (("embedded", 2), embedded(2)), (("Ray", 2), on_ray(2))):
                runs.setdefault(key, []).append(asyncio.run(_throughput(make, composes, bars)))
    finally:
        if cluster is not None:
            cluster.shutdown()

    p50_embedded, p50_ray = statistics.median(embedded_totals), statistics.median(ray_totals)
    overhead = p50_ray / p50_embedded - 1
    rows = [
        latency_row("end to end, 1 at a time, embedded, 1 render worker", embedded_totals, key="ray.e2e_embedded"),
        latency_row("end to end, 1 at a time, Ray, 1 render replica", ray_totals, key="ray.e2e_ray"),
        BenchRow("Ray overhead on p50 end to end", value=f"{overhead * 100:+.1f}%", samples=len(ray_totals), target="<= 10%", key="ray.overhead"),
    ]
    rate: dict[tuple[str, int], float] = {}
    for (backend, renderers), results in runs.items():
        rates = [r for r, _ in results]
        totals = [t for _, ts in results for t in ts]
        rate[backend, renderers] = statistics.median(rates)
        noun = ("render worker" if backend == "embedded" else "render replica") + ("s" if renderers > 1 else "")
        rows.append(BenchRow(f"throughput, {composes} at once, {backend}, {renderers} {noun}", statistics.median(totals) * 1000,
                             max(totals) * 1000, value=f"{rate[backend, renderers]:.2f} composes/s", samples=len(totals),
                             target="rounds " + ", ".join(f"{r:.2f}" for r in rates), key=f"ray.throughput.{backend.lower()}_{renderers}"))
    facts = {"load_before": load_before, "load_after": os.getloadavg()[0], "cores": os.cpu_count(), "overhead": overhead,
             "ray_speedup": rate["Ray", 2] / rate["Ray", 1], "embedded_speedup": rate["embedded", 2] / rate["embedded", 1]}
    return rows, facts


__all__ = ["bench_scale"]
