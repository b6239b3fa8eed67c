"""The phrase measure checked against human labels: parsing and agreement on a tiny labelled folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.evaluation.phrase_labels import label_agreement, parse_labels, read_structure_melody


def test_labels_parse_into_letters_first_bars_and_lengths():
    assert parse_labels("i4A8B8x1A8\n") == [("i", 0, 4), ("A", 4, 8), ("B", 12, 8), ("x", 20, 1), ("A", 21, 8)]


def _write_song(folder: Path, label: str, rows: list[tuple[int, int]]) -> None:
    folder.mkdir(parents=True)
    (folder / "human_label1.txt").write_text(label)
    (folder / "melody.txt").write_text("\n".join(f"{p} {d}" for p, d in rows))


def test_same_letters_score_as_repeats_and_different_letters_do_not(tmp_path: Path):
    a = [(60, 4), (62, 4), (64, 8)] * 4  # four bars
    b = [(0, 2), (67, 2), (65, 6), (0, 6)] * 4
    _write_song(tmp_path / "001", "i1A4B4A4", [(0, 16)] + a + b + a)
    notes = read_structure_melody(tmp_path / "001" / "melody.txt")
    assert notes[0].start == 16 and notes[0].pitch == 60
    result = label_agreement(tmp_path)
    assert (result.songs, result.same_pairs, result.different_pairs) == (1, 1, 2)
    assert result.same_repeat_rate == 1.0 and result.different_repeat_rate == 0.0
    assert result.same_median == pytest.approx(1.0)
