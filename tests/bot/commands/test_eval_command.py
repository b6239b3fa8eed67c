"""`tunesmith eval --form`: the shipped model against a hand-made reference, and the command's refusals."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from engine.evaluation.form_reference import write_reference
from tests.helpers.form_reference import reference_document


def test_the_cli_generates_with_the_shipped_model_and_writes_json(tmp_path: Path):
    reference = reference_document({"chord_changes_per_bar": [0.5 + 0.1 * i for i in range(12)], "starts_on_tonic": [1.0] * 6 + [0.0] * 6})
    ref_path = write_reference(reference, tmp_path / "ref.json")
    out = tmp_path / "form.json"
    result = CliRunner().invoke(app, ["eval", "--form", "--n", "2", "--style", "folk", "--bars", "8", "--reference", str(ref_path),
                                      "--json", str(out), "--markdown", str(tmp_path / "form.md")])
    assert result.exit_code == 0, result.output
    assert "first chord is the tonic" in result.output and "n/a" in result.output
    report = json.loads(out.read_text())
    assert report["seeds"] == [900, 901] and report["bars"] == 8 and report["generator"] == "model shipped"
    [folk] = report["styles"]
    rows = {r["measure"]: r for r in folk["rows"]}
    assert rows["chord_changes_per_bar"]["inside"] in (True, False)
    assert rows["band_notes_per_bar"]["defined"] == 2  # arranged
    assert rows["melody_velocity_sd"]["inside"] is None
    assert "| chord changes per bar |" in (tmp_path / "form.md").read_text()


def test_the_cli_refuses_a_missing_reference_and_bad_bars(tmp_path: Path):
    runner = CliRunner()
    missing = runner.invoke(app, ["eval", "--form", "--model", "random", "--reference", str(tmp_path / "none.json")])
    assert missing.exit_code != 0 and "--build-form-reference" in missing.output
    bad = runner.invoke(app, ["eval", "--form", "--model", "random", "--bars", "64"])
    assert bad.exit_code != 0 and "--bars" in bad.output
