"""Event-loop lag: how late the loop runs a callback scheduled to run now. The bot's responsiveness in one number."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class LagSummary:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 100 samples is the 99th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class LoopLagMonitor:
    """Sleeps `interval_ms` over and over and records how much later than asked each wake-up came.

        async with LoopLagMonitor() as lag:
            ...
        print(lag.summary().p99_ms)
    """

    def __init__(self, interval_ms: float = 10.0, max_samples: int = 100_000) -> None:
        self._interval_s = interval_ms / 1000
        self._samples: deque[float] = deque(maxlen=max_samples)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample(), name="loop-lag-monitor")

    async def stop(self) -> LagSummary:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.summary()

    def reset(self) -> None:
        self._samples.clear()

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self._interval_s)
            self._samples.append(max(0.0, loop.time() - asked - self._interval_s))

    def summary(self) -> LagSummary:
        values = list(self._samples)
        if not values:
            return LagSummary(0, math.nan, math.nan, math.nan)
        return LagSummary(
            samples=len(values),
            p50_ms=percentile(values, 0.50) * 1000,
            p99_ms=percentile(values, 0.99) * 1000,
            max_ms=max(values) * 1000,
        )

    async def __aenter__(self) -> "LoopLagMonitor":
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


__all__ = ["LagSummary", "LoopLagMonitor", "percentile"]
