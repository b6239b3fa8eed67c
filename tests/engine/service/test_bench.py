"""The benchmark's plumbing, run on the fakes (the real numbers come from `tunesmith bench service`)."""

import math

from engine.service.bench import BenchRow, bench_in_flight, bench_latency, bench_throughput, by_key, print_table
from tests.helpers.service_fakes import fake_composer, fake_render

FAKES = dict(composer_factory=fake_composer, render_fn=fake_render, render_workers=1)


def test_throughput_counts_completions_and_measures_memory_under_load():
    result = bench_throughput(seconds=0.5, bars=4, concurrency=3, **FAKES)
    assert result.completed > 1 and result.failed == 0
    assert result.composes_per_second > 0 and len(result.totals) == result.completed
    assert not math.isnan(result.lag_p99_ms)
    memory = by_key(result.memory)
    assert [memory[key].metric for key in ("memory.bot", "memory.model", "memory.render_workers")] == [
        "resident memory, bot process", "resident memory, model process", "resident memory, render workers"]


def test_in_flight_and_latency_rows(capsys):
    table = bench_in_flight(jobs=12, bars=4, **FAKES) + bench_latency(n=3, bars=4, **FAKES)
    rows = by_key(table)
    assert rows["in_flight.drained"].value == "12 ok, 0 failed"
    assert rows["in_flight.submit"].samples == 12 and rows["in_flight.loop_lag"].samples > 0
    assert rows["latency.e2e"].samples == 3 and rows["latency.e2e_over_floor"].value.endswith("x")
    print_table(table + [BenchRow("extra", value="1")], "test")
    out = capsys.readouterr().out
    assert "p99 ms" in out and "extra" in out
