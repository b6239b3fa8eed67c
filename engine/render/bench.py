"""Benchmark: arrange, render, encode and picture times for 8, 16 and 32 bars, as multiples of real time.

    python -m engine.render.bench [--style jazz] [--mood happy] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from engine.arrange.examples import ii_v_i
from engine.render.audio import AudioRenderer
from engine.render.track import render_track

STAGES = ("arrange", "render", "encode", "picture")


@dataclass
class BenchRow:
    bars: int
    audio_seconds: float
    seconds: dict[str, float]  # best of the repeats, per stage

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def realtime(self, stage: str | None = None) -> float:
        """How many times faster than real time: audio length / time taken."""
        taken = self.total if stage is None else self.seconds[stage]
        return self.audio_seconds / taken if taken > 0 else float("inf")


def bench_render(bars: tuple[int, ...] = (8, 16, 32), style: str = "jazz", mood: str = "happy", repeats: int = 3,
                 renderer: AudioRenderer | None = None) -> list[BenchRow]:
    renderer = renderer or AudioRenderer()
    render_track(ii_v_i(4), style, mood, 0, renderer)  # warm-up: imports, fonts, first-use caches
    rows = []
    for n in bars:
        best: dict[str, float] = {}
        audio = 0.0
        for seed in range(repeats):
            track = render_track(ii_v_i(n, tempo=120.0), style, mood, seed, renderer)
            audio = track.duration_seconds
            best = {s: min(best.get(s, float("inf")), track.timings[s]) for s in STAGES}
        rows.append(BenchRow(n, audio, best))
    return rows


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description="Time arrange, render, encode and picture.")
    parser.add_argument("--style", default="jazz")
    parser.add_argument("--mood", default="happy")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = bench_render(style=args.style, mood=args.mood, repeats=args.repeats)
    table = Table(title=f"Render benchmark: {args.style}/{args.mood} at 120 bpm, best of {args.repeats}, {os.cpu_count()} CPUs")
    for column in ("bars", "audio s", *(f"{s} s (×RT)" for s in STAGES), "total s (×RT)"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(str(row.bars), f"{row.audio_seconds:.1f}",
                      *(f"{row.seconds[s]:.3f} ({row.realtime(s):.0f}×)" for s in STAGES),
                      f"{row.total:.3f} ({row.realtime():.0f}×)")
    Console().print(table)


if __name__ == "__main__":
    main()
