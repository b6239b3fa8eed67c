from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app


def test_bench_recommend_prints_the_table_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "recommend.md"
    result = CliRunner().invoke(
        app,
        ["bench", "recommend", "--servers", "1", "--users", "8", "--tracks", "60", "--newcomers", "4", "--markdown", str(report)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for text in ("HR@10", "NDCG@10", "ours", "popularity", "random", "cold start"):
        assert text in result.output
    written = report.read_text()
    assert "tunesmith bench recommend --servers 1 --users 8 --tracks 60 --newcomers 4 --seed 7" in written
    assert written.count("| ours |") == 2


def test_bench_rejects_bad_sizes() -> None:
    result = CliRunner().invoke(app, ["bench", "recommend", "--tracks", "3"])
    assert result.exit_code != 0
    assert "--tracks" in result.output
