from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from bot.commands import bench


def _app() -> typer.Typer:
    """A CLI with only the bench group, as bot/cli.py registers it (so other commands' imports stay out)."""
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command, so `bench` is a sub-command as in the real CLI
        """Print nothing."""

    bench.register(app)
    return app


def test_bench_recommend_prints_the_table_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "recommend.md"
    result = CliRunner().invoke(
        _app(),
        ["bench", "recommend", "--servers", "1", "--users", "8", "--tracks", "60", "--newcomers", "4", "--markdown", str(report)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for text in ("HR@10", "NDCG@10", "ours", "popularity", "random", "cold start"):
        assert text in result.output
    written = report.read_text()
    assert "tunesmith bench recommend --servers 1 --users 8 --tracks 60 --newcomers 4 --seed 7" in written
    assert written.count("| ours |") == 2


def test_bare_bench_runs_every_benchmark(monkeypatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(bench, "ALL_BENCHMARKS", {"a": lambda: ran.append("a"), "b": lambda: ran.append("b")})
    result = CliRunner().invoke(_app(), ["bench"])
    assert result.exit_code == 0, result.output
    assert ran == ["a", "b"]


def test_bench_rejects_bad_sizes() -> None:
    result = CliRunner().invoke(_app(), ["bench", "recommend", "--tracks", "3"])
    assert result.exit_code != 0
    assert "--tracks" in result.output
