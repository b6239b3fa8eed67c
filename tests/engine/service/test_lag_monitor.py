import asyncio
import time

from engine.service.lag import LoopLagMonitor, percentile


def test_percentile_uses_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


async def test_a_blocking_call_shows_up_as_lag():
    async with LoopLagMonitor(interval_ms=5) as monitor:
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # blocks the loop, as a synchronous render in a handler would
        await asyncio.sleep(0.05)
    summary = monitor.summary()
    assert summary.samples >= 3
    assert summary.max_ms >= 150
    assert summary.p50_ms < summary.max_ms
