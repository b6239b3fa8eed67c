import json

from typer.testing import CliRunner

from bot.cli import app


def test_tunesmith_train_tiny_writes_a_checkpoint_and_evaluates_it(tmp_path, tiny_cache):
    cache_path = tmp_path / "corpus" / "corpus.npz"
    tiny_cache.save(cache_path)
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", "--config", "tiny", "--cache", str(cache_path), "--out", str(out), "--device", "cpu", "--n", "6"])
    assert result.exit_code == 0, result.output
    assert (out / "model.pt").is_file() and (out / "metrics.jsonl").is_file()
    report = json.loads((out / "eval.json").read_text())
    assert {row["style"] for row in report["rows"]} == set(tiny_cache.styles)
    assert report["overall"]["generated"] >= 6 * len(tiny_cache.styles)


def test_tunesmith_train_refuses_unknown_config_and_missing_cache(tmp_path):
    result = CliRunner().invoke(app, ["train", "--config", "huge", "--cache", str(tmp_path / "x.npz")])
    assert result.exit_code != 0 and "tiny" in result.output
    result = CliRunner().invoke(app, ["train", "--config", "tiny", "--cache", str(tmp_path / "missing.npz")])
    assert result.exit_code != 0 and "no corpus cache" in result.output
