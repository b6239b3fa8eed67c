"""The engine's entry points as commands of the one CLI: `tunesmith finetune`, `taste-train`, `train --set`,
`arrange learn|calibrate`, `bench render|service`; the retrain cog's `python -m engine.finetune` and
`python -m engine.taste.train` run the same commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.commands import train as train_commands
from bot.config import PROJECT_ROOT


def test_the_cli_repeats_the_engines_retrain_defaults() -> None:
    from engine import finetune
    from engine.taste import train as taste_train

    assert train_commands.MAX_MEMBER_SHARE == finetune.MAX_MEMBER_SHARE
    assert train_commands.MIN_RATERS == finetune.MIN_RATERS
    assert train_commands.CPU_BATCH == finetune.CPU_BATCH
    assert train_commands.ACTOR_STEPS == taste_train.ACTOR_STEPS


@pytest.mark.parametrize(("module", "options"), [
    ("engine.finetune", ["--vae-steps", "2", "--gan-steps", "2", "--min-raters", "3", "--max-member-share", "0.2"]),
    ("engine.taste.train", ["--steps", "2", "--guild", "5", "--min-raters", "3", "--max-member-share", "0.2"]),
])
def test_the_retrain_jobs_started_as_modules_report_an_error_as_a_json_line(tmp_path, module: str, options: list[str]) -> None:
    # The options the retrain cog passes; a ratings export that is not there ends with an error event and status 1.
    command = [sys.executable, "-m", module, "--ratings", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "out"), *options]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr
    event = json.loads(result.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and "missing.npz" in event["message"]


def test_finetune_refuses_a_member_share_above_one(tmp_path) -> None:
    result = CliRunner().invoke(app, ["finetune", "--ratings", str(tmp_path / "r.npz"), "--out", str(tmp_path / "o"), "--max-member-share", "1.5"])
    assert result.exit_code == 1
    assert json.loads(result.output.strip().splitlines()[-1]) == {"event": "error", "message": "--max-member-share must be above 0 and at most 1"}


def test_train_set_overrides_config_fields_by_their_type() -> None:
    from engine.train import config_with

    config = config_with("tiny", ["vae_steps=7"])
    assert config.vae_steps == 7
    with pytest.raises(ValueError, match="not FIELD=VALUE"):
        config_with("tiny", ["no_such_field=1"])


def test_train_refuses_a_bad_set_before_loading_anything(tmp_path) -> None:
    cache = tmp_path / "corpus.npz"
    cache.write_bytes(b"")
    result = CliRunner().invoke(app, ["train", "--config", "tiny", "--cache", str(cache), "--set", "vae_steps"])
    assert result.exit_code != 0 and "FIELD=VALUE" in result.output


def test_arrange_learn_names_the_missing_data_folder(tmp_path) -> None:
    result = CliRunner().invoke(app, ["arrange", "learn", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "No training data" in result.output


@pytest.mark.parametrize(("command", "option"), [(["bench", "render"], "--repeats"), (["bench", "service"], "--in-flight"),
                                                 (["arrange", "calibrate"], "--help"), (["taste-train"], "--guild")])
def test_the_engine_commands_are_registered(command: list[str], option: str) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and option in result.output
