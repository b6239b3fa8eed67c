"""The comparison behind `tunesmith eval --form`, on hand-made pieces and a hand-made reference
(the command itself: tests/bot/commands/test_eval_command.py)."""

from __future__ import annotations


import pytest

from engine.arrange import arrange as arrange_with_plan
from engine.plan import plan_for_piece
from engine.evaluation.form_eval import MEASURES, RATE, compare, evaluate_form, form_requests, reference_window
from engine.evaluation.form_reference import WindowValues, aggregate
from engine.music import Chord, Key, Note, Piece
from engine.request import ComposeRequest
from tests.helpers.form_reference import reference_document


def repeating_piece(request: ComposeRequest) -> Piece:
    """Eight bars: a 4-bar phrase played twice over I-V-I-V, in C."""
    phrase = [Note(60 + (i % 3) * 2, b * 16 + i * 4, 4) for b in range(4) for i in range(4)]
    melody = phrase + [Note(n.pitch, n.start + 64, n.duration) for n in phrase]
    harmony = [Chord(0 if b % 2 == 0 else 7, "maj", b * 16, 16) for b in range(request.bars)]
    return Piece(bars=request.bars, key=Key(0, "major"), melody=melody, harmony=harmony)


def generate_repeating(requests: list[ComposeRequest]) -> list[Piece]:
    return [repeating_piece(r) for r in requests]


def test_requests_take_seeds_in_order_and_moods_in_turn():
    requests = form_requests("jazz", 7, 16, seed=900)
    assert [r.seed for r in requests] == list(range(900, 907))
    assert [r.mood for r in requests][:7] == ["happy", "energetic", "calm", "dreamy", "sad", "dark", "happy"]
    assert {r.bars for r in requests} == {16}


def test_generated_values_are_compared_with_the_real_interquartile_range():
    reference = reference_document({
        "lag4_similarity": [0.1 * i for i in range(11)],  # median 0.5, IQR 0.25-0.75: the repeating piece's 1.0 is outside
        "chord_changes_per_bar": [0.5 + 0.05 * i for i in range(11)],  # IQR 0.625-0.875: its 0.875 is inside
        "phrase_repeats": [1.0] * 3 + [0.0] * 9,
    })
    report = evaluate_form(generate_repeating, ["folk"], reference, n=4, bars=8)
    rows = {r.measure: r for r in report.styles[0].rows}
    assert rows["lag4_similarity"].generated == pytest.approx(1.0)
    assert (rows["lag4_similarity"].real_median, rows["lag4_similarity"].inside) == (pytest.approx(0.5), False)
    assert rows["chord_changes_per_bar"].generated == pytest.approx(7 / 8)
    assert rows["chord_changes_per_bar"].inside is True
    # A yes/no measure: every piece repeats (100%); a real sample of 4 at p = 0.25 lies in [0%, 50%].
    repeats = rows["phrase_repeats"]
    assert repeats.kind == RATE and repeats.generated == 1.0
    assert (repeats.real_q1, repeats.real_q3, repeats.inside) == (0.0, 0.5, False)
    # Measures without real data are n/a, never judged.
    assert rows["melody_velocity_sd"].inside is None and rows["melody_velocity_sd"].real_n == 0
    assert report.styles[0].judged == 3 and report.styles[0].inside == 1
    assert report.seeds == [900, 901, 902, 903]


def test_a_derived_style_is_compared_with_the_data_it_is_derived_from():
    reference = reference_document({"lag4_similarity": [1.0] * 12}, style="classical")
    [ambient] = evaluate_form(generate_repeating, ["ambient"], reference, n=2, bars=8).styles
    assert ambient.reference_style == "classical"
    assert {r.measure: r.inside for r in ambient.rows}["lag4_similarity"] is True


def test_the_window_is_the_largest_that_fits_the_pieces():
    reference = {"windows": {"8": {}, "16": {}, "32": {}}}
    assert [reference_window(reference, b) for b in (4, 8, 12, 16, 31, 32)] == [8, 8, 8, 16, 16, 32]


def test_the_band_is_measured_through_the_arranger():
    reference = reference_document({"band_notes_per_bar": [float(i) for i in range(1, 12)]}, style="pop")
    report = evaluate_form(generate_repeating, ["pop"], reference, n=2, bars=8, arrange=arrange)
    rows = {r.measure: r for r in report.styles[0].rows}
    assert rows["band_notes_per_bar"].defined == 2 and rows["band_notes_per_bar"].generated > 0
    assert rows["band_notes_per_bar"].inside is not None
    assert rows["band_drums_new_pattern_share"].defined == 2  # the pop band has drums
    assert rows["band_melody_new_rhythm_share"].label == "melody (band): share of bars with a new rhythm"
    extra = [r for r in rows.values() if r.measure not in {m.name for m in MEASURES}]
    assert all(r.inside is None and r.label.endswith("(band): share of bars with a new rhythm") for r in extra)
    assert report.to_dict()["styles"][0]["style"] == "pop"
    assert all(m.name in rows for m in MEASURES)
    markdown = report.to_markdown()
    assert "| whole band: pitched notes per bar |" in markdown and "n/a" in markdown
    assert "A against A'" not in markdown  # needs 16 bars: neither generated nor real in an 8-bar report


def test_the_model_s_drums_and_the_band_s_melody_share_the_real_material_of_their_counterparts():
    reference = reference_document({"band_drums_new_pattern_share": [1.0] * 12, "melody_new_rhythm_share": [0.5] * 12})
    rows = {r.measure: r for r in compare("folk", [{"drums_new_pattern_share": 1.0, "band_melody_new_rhythm_share": 1.0}], reference, 8).rows}
    assert rows["drums_new_pattern_share"].inside is True
    assert rows["band_melody_new_rhythm_share"].inside is False


def test_held_out_figures_are_used_only_when_asked():
    windows = [WindowValues("folk", "train", "s", 8, {"lag4_similarity": 1.0}) for _ in range(12)]
    windows += [WindowValues("folk", "test", "s", 8, {"lag4_similarity": 0.0}) for _ in range(12)]
    reference = {"schema": 1, "built": "x", "sources": {}, "definitions": {}, "windows": aggregate(windows)}
    measured = [{"lag4_similarity": 1.0}]
    assert {r.measure: r.inside for r in compare("folk", measured, reference, 8).rows}["lag4_similarity"] is True
    assert {r.measure: r.inside for r in compare("folk", measured, reference, 8, "held_out").rows}["lag4_similarity"] is False
    with pytest.raises(ValueError):
        evaluate_form(generate_repeating, ["folk"], reference, n=1, part="valid")


def arrange(piece, request):
    return arrange_with_plan(piece, plan_for_piece(piece.bars, piece.key, piece.tempo, request.style, request.mood, request.seed))
