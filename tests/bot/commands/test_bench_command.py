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
    for text in ("HR@10", "NDCG@10", "ours", "item-kNN", "ALS (implicit)", "popularity", "random", "cold start", "bootstrap"):
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


def test_bench_recommend_creates_the_reports_folder(tmp_path: Path) -> None:
    report = tmp_path / "not" / "yet" / "recommend.md"
    result = CliRunner().invoke(
        _app(), ["bench", "recommend", "--servers", "1", "--users", "8", "--tracks", "60", "--newcomers", "4", "--markdown", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "| ours |" in report.read_text()


def _stop_at_the_first_benchmark(monkeypatch, seen: list[bool], folder: Path) -> None:
    """Stand in for the first (minutes-long) measurement of `bench performance`: record whether the report's
    folder already existed when the work began, then stop the run there."""
    import bot.loadtest

    async def first_measurement(**kwargs):
        seen.append(folder.is_dir())
        raise KeyboardInterrupt

    monkeypatch.setattr(bot.loadtest, "bench_e2e", first_measurement)


def test_bench_performance_makes_the_reports_folder_before_the_work(tmp_path: Path, monkeypatch) -> None:
    seen: list[bool] = []
    folder = tmp_path / "missing" / "dir"
    _stop_at_the_first_benchmark(monkeypatch, seen, folder)
    CliRunner().invoke(_app(), ["bench", "performance", "--markdown", str(folder / "x.md")])
    assert seen == [True]


def test_bench_performance_refuses_an_unwritable_report_before_the_work(tmp_path: Path, monkeypatch) -> None:
    seen: list[bool] = []
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _stop_at_the_first_benchmark(monkeypatch, seen, blocker)
    for target in (blocker / "x.md", tmp_path):
        result = CliRunner().invoke(_app(), ["bench", "performance", "--markdown", str(target)], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and "--markdown" in result.output, result.output
        assert "Traceback" not in result.output
    assert seen == [], "the benchmark started although its report could not be written"


def test_bench_recommend_ack_prints_acknowledgement_and_answer_rows() -> None:
    result = CliRunner().invoke(
        _app(), ["bench", "recommend-ack", "--tracks", "60", "--ratings", "200", "--members", "8", "--requests", "2", "--concurrent", "2"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for text in ("acknowledgement, one at a time", "answer (ranked picks), one at a time", "2 overlapping", "60 tracks and 200 ratings from 8 members"):
        assert text in result.output


def test_bench_recommend_ack_refuses_more_ratings_than_fit() -> None:
    result = CliRunner().invoke(_app(), ["bench", "recommend-ack", "--tracks", "10", "--members", "2", "--ratings", "21"], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "do not fit" in result.output
