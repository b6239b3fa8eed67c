"""The second style judge: its n-grams, that it learns a tiny synthetic task, its file, and its independence."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from engine.evaluation import second_judge
from engine.evaluation.second_judge import SecondJudge, accuracy_by_style, count_matrix, melody_ngrams, train_second_judge
from engine.music import Key, Note, Piece
from tests.helpers.styled_corpus import STYLES, synthetic_piece


def test_ngrams_do_not_depend_on_the_key():
    piece = synthetic_piece("jazz", seed=3)
    moved = piece.transposed(5)
    assert melody_ngrams(piece) == melody_ngrams(moved)
    assert melody_ngrams(Piece(bars=1)) == []


def test_ngrams_name_interval_rhythm_and_degree_on_the_beat():
    piece = Piece(bars=1, key=Key(2, "major"), melody=[Note(62, 0, 4), Note(66, 4, 2), Note(69, 6, 2)])
    grams = melody_ngrams(piece)
    assert "r2|s/4|4/2" in grams  # start, then up a major third; a quarter then an eighth to the next onset
    assert {"pos|0", "pos|4", "reg|15", "ioi|4"} <= set(grams)  # onset steps, register (62 // 4), time to the next onset
    assert "d2|0@D|4@B" in grams  # tonic on the downbeat, the third on beat 2


def test_the_judge_learns_a_tiny_synthetic_task_far_above_chance():
    train = [(synthetic_piece(s, seed=100 * k + j), k) for k, s in enumerate(STYLES) for j in range(12)]
    test = [(synthetic_piece(s, seed=5000 + 100 * k + j), k) for k, s in enumerate(STYLES) for j in range(8)]
    judge = SecondJudge.fit(count_matrix([p for p, _ in train]), np.array([k for _, k in train]), STYLES)
    acc = accuracy_by_style(judge, count_matrix([p for p, _ in test]), np.array([k for _, k in test]))
    assert acc["overall"] > 0.8  # chance is 1/3
    assert judge.predict_pieces([test[0][0]]) == [STYLES[test[0][1]]]


def test_a_style_without_training_pieces_is_never_predicted():
    train = [(synthetic_piece(s, seed=j), k) for k, s in enumerate(STYLES[:2]) for j in range(6)]
    judge = SecondJudge.fit(count_matrix([p for p, _ in train]), np.array([k for _, k in train]), STYLES)
    assert not judge.present[2]
    assert "rock" not in judge.predict_pieces([synthetic_piece("rock", seed=9)])


def test_training_on_a_cache_stores_a_ceiling_and_survives_a_round_trip(corpus, tmp_path: Path):
    judge = train_second_judge(corpus, per_style=40, ceiling_per_style=20, fingerprint="abc")
    assert set(judge.ceiling) == set(STYLES) | {"overall"}
    assert judge.ceiling["overall"] > 0.6
    loaded = SecondJudge.load(judge.save(tmp_path / "judge.npz"))
    assert loaded.styles == judge.styles and loaded.fingerprint == "abc" and loaded.ceiling == judge.ceiling
    pieces = [synthetic_piece(s, seed=777 + i) for i, s in enumerate(STYLES)]
    assert loaded.predict_pieces(pieces) == judge.predict_pieces(pieces)


def test_a_file_that_is_not_a_judge_is_refused(tmp_path: Path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a judge")
    with pytest.raises(ValueError):
        SecondJudge.load(bad)


def test_it_shares_no_code_with_the_first_judge():
    tree = ast.parse(Path(second_judge.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(m and ("style_classifier" in m or "evaluation.features" in m or "evaluation.evaluate" in m) for m in imported)
