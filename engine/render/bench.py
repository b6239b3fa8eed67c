"""Benchmark: arrange, render, encode and picture times for 8, 16 and 32 bars, as multiples of real time.

    tunesmith bench render [--style jazz] [--mood happy] [--repeats 3]

Each stage is timed on its own (wall clock, and CPU seconds including ffmpeg's), then `render_track` as a
whole, where encoding overlaps the picture. On a shared machine wall time depends on the neighbours; CPU
time does not much, so both are shown.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

from engine.arrange import arrange
from engine.arrange.examples import ii_v_i
from engine.render.audio import AudioRenderer
from engine.render.mp3 import encode_mp3
from engine.render.pianoroll import piano_roll_png
from engine.plan import plan_for_piece
from engine.render.track import render_track

STAGES = ("arrange", "render", "encode", "picture")


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class BenchRow:
    bars: int
    audio_seconds: float
    wall: dict[str, float]  # best of the repeats, per stage
    cpu: dict[str, float]
    track_wall: float  # render_track end to end (encode overlapping the picture)

    def realtime(self, seconds: float) -> float:
        """How many times faster than real time: audio length / time taken."""
        return self.audio_seconds / seconds if seconds > 0 else float("inf")


def bench_render(bars: tuple[int, ...] = (8, 16, 32), style: str = "jazz", mood: str = "happy", repeats: int = 3,
                 renderer: AudioRenderer | None = None) -> list[BenchRow]:
    renderer = renderer or AudioRenderer()
    warm = ii_v_i(4)
    render_track(warm, plan_for_piece(warm.bars, warm.key, warm.tempo, style, mood), renderer)  # warm-up: imports, fonts, first-use caches
    rows = []
    for n in bars:
        piece = ii_v_i(n, tempo=120.0)
        wall = {s: float("inf") for s in STAGES}
        cpu = dict(wall)
        track_wall = float("inf")
        audio_seconds = 0.0
        for seed in range(repeats):
            results: dict[str, object] = {}
            stages = {
                "arrange": lambda: arrange(piece, plan_for_piece(piece.bars, piece.key, piece.tempo, style, mood, seed)),
                "render": lambda: renderer.render(results["arrange"]),
                "encode": lambda: encode_mp3(results["render"], renderer.sample_rate),
                "picture": lambda: piano_roll_png(results["arrange"], "benchmark"),
            }
            for stage, run in stages.items():
                c0, t0 = _cpu_seconds(), time.perf_counter()
                results[stage] = run()
                wall[stage] = min(wall[stage], time.perf_counter() - t0)
                cpu[stage] = min(cpu[stage], _cpu_seconds() - c0)
            audio_seconds = len(results["render"]) / renderer.sample_rate
            t0 = time.perf_counter()
            render_track(piece, plan_for_piece(piece.bars, piece.key, piece.tempo, style, mood, seed), renderer)
            track_wall = min(track_wall, time.perf_counter() - t0)
        rows.append(BenchRow(n, audio_seconds, wall, cpu, track_wall))
    return rows


def print_bench(style: str = "jazz", mood: str = "happy", repeats: int = 3) -> None:
    """Time arrange, render, encode and picture, and print the table (`tunesmith bench render`)."""
    from rich.console import Console
    from rich.table import Table

    rows = bench_render(style=style, mood=mood, repeats=repeats)
    load = os.getloadavg()[0]
    table = Table(title=f"{style}/{mood} at 120 bpm, best of {repeats}; {os.cpu_count()} CPUs, load {load:.1f}.\n"
                        "Wall seconds (× real time) and CPU seconds per stage")
    for column in ("bars", "audio s", *STAGES, "sum of stages", "render_track"):
        table.add_column(column, justify="right")
    for row in rows:
        cells = [f"{row.wall[s]:.3f} ({row.realtime(row.wall[s]):.0f}×)\ncpu {row.cpu[s]:.3f}" for s in STAGES]
        total_wall, total_cpu = sum(row.wall.values()), sum(row.cpu.values())
        table.add_row(str(row.bars), f"{row.audio_seconds:.1f}", *cells,
                      f"{total_wall:.3f} ({row.realtime(total_wall):.0f}×)\ncpu {total_cpu:.3f}",
                      f"{row.track_wall:.3f} ({row.realtime(row.track_wall):.0f}×)")
    Console(width=140).print(table)

