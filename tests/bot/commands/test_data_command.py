from __future__ import annotations

from tests.helpers.data_pieces import scale_piece
from typer.testing import CliRunner

from bot.cli import app
from engine.data.cache import CorpusCache
from engine.data.midi import write_midi
from engine.music import Key


def test_data_build_and_eval_commands_on_a_host_folder(tmp_path):
    songs = tmp_path / "songs"
    for i in range(10):
        write_midi(scale_piece(bars=16, key=Key(i % 12, "major"), offset=i), songs / f"s{i}.mid")
    out = tmp_path / "corpus" / "corpus.npz"
    runner = CliRunner()
    result = runner.invoke(app, ["data", "build", "--no-shared", "--no-music21", "--source", f"{songs}:bossa", "--out", str(out),
                                 "--workers", "1", "--doc", str(tmp_path / "CORPUS.md")])
    assert result.exit_code == 0, result.output
    assert f"Cache: {out}" in result.output.replace("\n", "")
    cache = CorpusCache.load(out)
    assert set(cache.style.tolist()) == {cache.styles.index("latin")}
    assert "## How the corpus is made" in (tmp_path / "CORPUS.md").read_text()

    bad = runner.invoke(app, ["data", "build", "--source", "nowhere:jazz"])
    assert bad.exit_code != 0 and "not a folder" in bad.output
    bad_style = runner.invoke(app, ["data", "build", "--source", f"{songs}:polka"])
    assert bad_style.exit_code != 0 and "Unknown style" in bad_style.output

    missing = runner.invoke(app, ["eval", "--cache", str(tmp_path / "none.npz")])
    assert missing.exit_code != 0 and "tunesmith data build" in missing.output
