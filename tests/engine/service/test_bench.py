"""The benchmark's plumbing, run on the fakes (the real numbers come from `tunesmith bench service`)."""

import math

from engine.service.bench import BenchRow, bench_in_flight, bench_latency, bench_throughput, print_table
from service_fakes import fake_composer, fake_render

FAKES = dict(composer_factory=fake_composer, render_fn=fake_render, render_workers=1)


def test_throughput_counts_completions_and_measures_memory_under_load():
    result = bench_throughput(seconds=0.5, bars=4, concurrency=3, **FAKES)
    assert result.completed > 1 and result.failed == 0
    assert result.composes_per_second > 0 and len(result.totals) == result.completed
    assert not math.isnan(result.lag_p99_ms)
    assert [row.metric for row in result.memory] == [
        "resident memory, bot process", "resident memory, model process", "resident memory, render workers"]


def test_in_flight_and_latency_rows(capsys):
    rows = bench_in_flight(jobs=12, bars=4, **FAKES) + bench_latency(n=3, bars=4, **FAKES)
    assert rows[2].value == "12 ok, 0 failed"
    assert rows[0].samples == 12 and rows[1].samples > 0
    assert rows[3].samples == 3 and rows[8].value.endswith("x")
    print_table(rows + [BenchRow("extra", value="1")], "test")
    out = capsys.readouterr().out
    assert "p99 ms" in out and "extra" in out
