"""Generation throughput: the models alone (latents and token sampling on the device) and end to end
(requests to finished Pieces), and one piece's latency on a CPU. Run by `tunesmith bench generate`."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from engine.generate.assemble import block_chords
from engine.generate.composer import Composer
from engine.request import ComposeRequest
from engine.labels import MOODS


@dataclass(frozen=True)
class Throughput:
    """Pieces per second over a timed run (median of the runs after a warm-up)."""

    what: str
    batch: int
    seconds: float
    pieces_per_second: float
    runs_pieces_per_second: tuple[float, ...] = ()


def _requests(composer: Composer, n: int) -> list[ComposeRequest]:
    styles = composer.supported_styles()
    return [ComposeRequest(style=styles[i % len(styles)], mood=list(MOODS)[i % len(MOODS)], seed=i) for i in range(n)]


def model_throughput(composer: Composer, batch_sizes: tuple[int, ...], repeats: int = 5) -> list[Throughput]:
    """8-bar pieces per second from the models alone: GAN latents and forced-chord decoding, one batch."""

    def sync() -> None:
        if composer.device.type == "cuda":
            torch.cuda.synchronize()

    out = []
    for n in batch_sizes:
        plans = [composer.plan(r) for r in _requests(composer, n)]
        cond, seeds = composer._conditions(plans), composer._seeds([p.seed for p in plans])
        chords = torch.as_tensor(np.stack([block_chords(p)[0] for p in plans]), dtype=torch.long, device=composer.device)
        temps = torch.ones(n, device=composer.device)
        times = []
        for rep in range(repeats + 1):
            sync()
            t = time.perf_counter()
            with torch.inference_mode():
                z = composer.model.sample_latents(cond, seeds, "gan")
                seg = composer.model.decode(z, cond, seeds, temps, chords)
                seg.melody.sum().item()
            sync()
            if rep:  # the first run is the warm-up
                times.append(time.perf_counter() - t)
        median = statistics.median(times)
        out.append(Throughput("models only", n, median, n / median))
    return out


def end_to_end_throughput(composer: Composer, pieces: int, runs: int = 3) -> Throughput:
    """Requests to finished Pieces through Composer.generate (plans, forced decoding, form, post-processing,
    novelty check when the composer has an index)."""
    reqs = _requests(composer, pieces)
    composer.generate(reqs[: max(64, 4 * composer.workers)])  # warm-up (starts the worker pool)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        composer.generate(reqs)
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return Throughput("end to end", pieces, median, pieces / median, tuple(pieces / s for s in times))


def cpu_latency_ms(composer: Composer, runs: int = 20, bars: int = 8) -> tuple[float, float]:
    """Median and 90th percentile wall time (ms) of one request of `bars` bars, one at a time."""
    styles = composer.supported_styles()
    composer.generate([ComposeRequest(style="jazz", mood="calm", seed=0, bars=bars)])
    times = []
    for i in range(runs):
        t = time.perf_counter()
        composer.generate([ComposeRequest(style=styles[i % len(styles)], mood="calm", seed=i, bars=bars)])
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(0.9 * (len(times) - 1))]


__all__ = ["Throughput", "cpu_latency_ms", "end_to_end_throughput", "model_throughput"]
