"""`tunesmith bench scale`: the engine on Ray Serve against the embedded one, with the real model and renderer.

Measures, in this order (the embedded runs first, before any Ray process exists on the machine):
  - p50 end to end (submit -> TrackResult, one job at a time) with one render worker, embedded and on Ray;
  - throughput (composes/s with `composes` jobs submitted at once by as many users) with 1 and 2 render
    workers embedded, and 1 and 2 render replicas on Ray.
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


async def _latency(make: Callable[[], EngineService], n: int, bars: int) -> list[float]:
    async with make() as service:
        totals = []
        for i, request in enumerate(itertools.islice(requests(bars), n + 2)):
            result = await service.submit(EngineJob.compose(request, user_key="bench:latency")).result()
            if i >= 2:  # the first two warm caches on both sides
                totals.append(result.timings["total"])
        return totals


async def _throughput(make: Callable[[], EngineService], n: int, bars: int) -> tuple[float, list[float]]:
    async with make() as service:
        for request in itertools.islice(requests(bars), 2):  # warm-up, one at a time
            await service.submit(EngineJob.compose(request, user_key="bench:warm")).result()
        started = time.perf_counter()
        tickets = [service.submit(EngineJob.compose(r, user_key=f"bench:{i}")) for i, r in enumerate(itertools.islice(requests(bars), n))]
        results = await asyncio.gather(*(t.result() for t in tickets))
        elapsed = time.perf_counter() - started
        return n / elapsed, [r.timings["total"] for r in results]


def bench_scale(composes: int = 24, e2e: int = 20, bars: int = 8, address: str | None = None,
                checkpoint: Path | None = None, soundfont: Path | None = None) -> tuple[list[BenchRow], dict[str, Any]]:
    from engine.service.ray_backend import LocalRayCluster, connect, ray_engine_service

    common: dict[str, Any] = {"queue_cap": composes + 10, "timeout_s": 600.0}
    load_before = os.getloadavg()[0]

    def embedded(workers: int) -> Callable[[], EngineService]:
        return lambda: EngineService(checkpoint, soundfont, render_workers=workers, **common)

    embedded_totals = asyncio.run(_latency(embedded(1), e2e, bars))
    embedded_rate = {w: asyncio.run(_throughput(embedded(w), composes, bars)) for w in (1, 2)}

    cluster = None
    if address is None:
        cluster = LocalRayCluster(head_cpus=2, workers=1, worker_cpus=2)
        address = cluster.start()
    try:
        connect(address)

        def on_ray(replicas: int) -> Callable[[], EngineService]:
            return lambda: ray_engine_service(checkpoint, soundfont, address=address, app_name=f"bench{replicas}",
                                              render_replicas=replicas, **common)

        ray_rate = {r: asyncio.run(_throughput(on_ray(r), composes, bars)) for r in (1, 2)}
        ray_totals = asyncio.run(_latency(on_ray(1), e2e, bars))
    finally:
        if cluster is not None:
            cluster.shutdown()

    p50_embedded, p50_ray = statistics.median(embedded_totals), statistics.median(ray_totals)
    overhead = p50_ray / p50_embedded - 1
    rows = [
        latency_row("end to end, 1 at a time, embedded, 1 render worker", embedded_totals),
        latency_row("end to end, 1 at a time, Ray, 1 render replica", ray_totals),
        BenchRow("Ray overhead on p50 end to end", value=f"{overhead * 100:+.1f}%", samples=len(ray_totals), target="<= 10%"),
    ]
    for workers, (rate, totals) in embedded_rate.items():
        rows.append(BenchRow(f"throughput, {composes} at once, embedded, {workers} render worker{'s' * (workers > 1)}",
                             statistics.median(totals) * 1000, max(totals) * 1000, value=f"{rate:.2f} composes/s", samples=len(totals)))
    for replicas, (rate, totals) in ray_rate.items():
        rows.append(BenchRow(f"throughput, {composes} at once, Ray, {replicas} render replica{'s' * (replicas > 1)}",
                             statistics.median(totals) * 1000, max(totals) * 1000, value=f"{rate:.2f} composes/s", samples=len(totals)))
    facts = {"load_before": load_before, "cores": os.cpu_count(), "overhead": overhead,
             "ray_speedup": ray_rate[2][0] / ray_rate[1][0], "embedded_speedup": embedded_rate[2][0] / embedded_rate[1][0]}
    return rows, facts


__all__ = ["bench_scale"]
