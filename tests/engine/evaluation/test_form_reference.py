"""The real-data form reference: windows, the measures each source may give, the summaries and the file's schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pretty_midi
import pytest

from engine.evaluation.form import bar_sets
from engine.evaluation.form_reference import (
    MIN_WINDOWS, REFERENCE_FILE, ReferenceError, WindowValues, aggregate, first_phrase_bar, load_reference, piece_window_values,
    pop909_band_values, spread_items, summarise, validate_reference, window_starts, write_reference,
)
from engine.music import Chord, Key, Meter, Note, Piece
from engine.labels import STYLES


def tune(bars: int, *, pickup: bool = False, source: str = "essen", velocity: int = 90) -> Piece:
    """A melody of quarter notes in every bar from bar 1 (bar 0 silent, or holding a pickup on beat 4)."""
    melody = [Note(60 + (b % 5), b * 16 + q * 4, 4, velocity + (q % 2) * 10) for b in range(1, bars) for q in range(4)]
    if pickup:
        melody.insert(0, Note(59, 12, 4, velocity))
    harmony = [Chord(0 if b % 2 == 0 else 7, "maj", b * 16, 16) for b in range(bars)]
    return Piece(bars=bars, key=Key(0, "major"), melody=melody, harmony=harmony, source=source, name="t")


def test_windows_start_where_the_tune_does_and_skip_a_pickup():
    rhythms = bar_sets(tune(40).melody, 40, 16, with_pitch=False)
    assert first_phrase_bar(rhythms) == 1
    assert window_starts(rhythms, 8) == [1, 9, 17, 25]  # at most four per piece
    assert window_starts(rhythms, 32) == [1]
    picked = bar_sets(tune(40, pickup=True).melody, 40, 16, with_pitch=False)
    assert first_phrase_bar(picked) == 1
    assert first_phrase_bar([frozenset()] * 3) is None


def test_a_mostly_silent_window_is_not_taken():
    rhythms = [frozenset({0})] * 8 + [frozenset()] * 6 + [frozenset({0})] * 2
    assert window_starts(rhythms, 8) == [0]


def test_velocity_comes_only_from_performances_and_bass_rhythm_not_from_annotated_beats():
    score = piece_window_values(tune(17), "folk", "train", windows=(8,))
    assert all("melody_velocity_sd" not in w.values for w in score)
    performed = piece_window_values(tune(18, source="pop909"), "pop", "train", windows=(8,))
    melodic = [w for w in performed if "lag4_similarity" in w.values]
    assert len(melodic) == 2 and melodic[0].values["melody_velocity_sd"] == pytest.approx(5.0)
    assert melodic[0].values["band_melody_velocity_sd"] == melodic[0].values["melody_velocity_sd"]
    jazz = piece_window_values(tune(17, source="wjd-solos"), "jazz", "train", windows=(8,))
    assert all("bass_new_rhythm_share" not in w.values for w in jazz)
    tonic = [w for w in performed if "starts_on_tonic" in w.values]
    assert len(tonic) == 1 and tonic[0].values == {"starts_on_tonic": 1.0, "ends_on_tonic": 0.0}


def test_drums_only_pieces_give_only_the_drum_measure_and_other_meters_nothing():
    drums = [Note(36, b * 16, 1) for b in range(8)] + [Note(38, b * 16 + 8, 1) for b in range(0, 8, 2)]
    windows = piece_window_values(Piece(bars=8, drums=drums, source="groove-midi"), "rock", "train", windows=(8,))
    assert [w.values for w in windows] == [{"band_drums_new_pattern_share": pytest.approx(2 / 8)}]
    waltz = Piece(bars=8, meter=Meter(3, 4), melody=[Note(60, 0, 4)])
    assert piece_window_values(waltz, "folk", "train") == []


def test_pop909_band_measures_use_the_annotated_downbeats(tmp_path: Path):
    song = tmp_path / "001"
    song.mkdir()
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody, piano = pretty_midi.Instrument(0, name="MELODY"), pretty_midi.Instrument(0, name="PIANO")
    offset = 0.3  # the first downbeat is not at 0 s
    for b in range(9):
        t0 = offset + 2.0 * b
        melody.notes.append(pretty_midi.Note(90, 72, t0, t0 + 0.9))
        for q in range(4):
            piano.notes.append(pretty_midi.Note(70, 48, t0 + 0.5 * q, t0 + 0.5 * q + 0.4))
    pm.instruments += [melody, piano]
    pm.write(str(song / "001.mid"))
    rows = [f"{offset + 0.5 * i} {1.0 if i % 2 == 0 else 0.0} {1.0 if i % 4 == 0 else 0.0}" for i in range(36)]
    (song / "beat_midi.txt").write_text("\n".join(rows))
    [window] = pop909_band_values(song / "001.mid", "pop", "train", windows=(8,))
    assert window.values["band_notes_per_bar"] == pytest.approx(5.0)
    assert window.values["band_piano_new_rhythm_share"] == pytest.approx(1 / 8)
    assert window.values["band_empty_beat_share"] == pytest.approx(0.0)


def test_summaries_need_enough_windows_and_ignore_undefined_values():
    assert summarise([0.5] * (MIN_WINDOWS - 1)) is None
    s = summarise([float(i) for i in range(1, 12)] + [math.nan])
    assert (s["median"], s["q1"], s["q3"], s["n"]) == (6.0, 3.5, 8.5, 11)


def test_aggregate_keeps_the_reference_and_held_out_splits_apart():
    windows = [WindowValues("pop", "train", "pop909", 8, {"lag4_similarity": 0.1 * i}) for i in range(10)]
    windows += [WindowValues("pop", "test", "pop909", 8, {"lag4_similarity": 0.9}) for _ in range(10)]
    windows += [WindowValues("pop", "valid", "pop909", 8, {"lag4_similarity": 5.0}) for _ in range(10)]
    doc = aggregate(windows)
    entry = doc["8"]["pop"]
    assert entry["reference"]["lag4_similarity"]["median"] == pytest.approx(0.45)
    assert entry["held_out"]["lag4_similarity"]["median"] == pytest.approx(0.9)
    assert entry["sources"] == {"pop909": 30}


def test_spread_items_spans_the_listing():
    items = [f"i{k:03d}" for k in range(100)]
    picked = spread_items(items, 5)
    assert picked[0] == "i000" and picked[-1] == "i099" and len(picked) == 5
    assert spread_items(items, None) == items


def _document(windows: dict) -> dict:
    return {"schema": 1, "built": "2026-12-01", "sources": {}, "definitions": {}, "windows": windows}


def test_the_schema_check_refuses_malformed_references(tmp_path: Path):
    good = _document({"8": {"pop": {"reference": {"lag4_similarity": {"median": 0.2, "q1": 0.1, "q3": 0.3, "n": 40}}, "held_out": {}}}})
    validate_reference(good)
    assert load_reference(write_reference(good, tmp_path / "ref.json")) == good
    for bad in (
        {**good, "schema": 99},
        _document({"8": {"polka": {"reference": {}}}}),
        _document({"8": {"pop": {"reference": {"loudness": {"median": 1, "q1": 0, "q3": 2, "n": 10}}}}}),
        _document({"8": {"pop": {"reference": {"lag4_similarity": {"median": 0.5, "q1": 0.6, "q3": 0.7, "n": 10}}}}}),
        _document({"eight": {}}),
    ):
        with pytest.raises(ReferenceError):
            validate_reference(bad)
    with pytest.raises(ReferenceError):
        load_reference(tmp_path / "missing.json")


@pytest.mark.skipif(not REFERENCE_FILE.is_file(), reason="the shipped reference is built by `tunesmith eval --build-form-reference`")
def test_the_shipped_reference_has_the_schema_and_its_provenance():
    doc = load_reference()
    assert doc["reference_split"] == "train" and doc["held_out_split"] == "test"
    assert {"8", "16", "32"} <= set(doc["windows"])
    assert set(doc["windows"]["8"]) <= set(STYLES)
    for source, stats in doc["sources"].items():
        assert stats["items_read"] >= stats["errors"]
    assert "half_similarity" not in doc["windows"]["8"].get("pop", {}).get("reference", {})  # needs 16 bars
    json.dumps(doc)


def test_harmony_comes_only_from_annotated_chords():
    estimated = piece_window_values(tune(18, source="oneills"), "celtic", "train", windows=(8,))
    assert estimated and all(not {"chord_changes_per_bar", "starts_on_tonic"} & set(w.values) for w in estimated)
    annotated = piece_window_values(tune(18, source="nottingham"), "folk", "train", windows=(8,))
    assert any("chord_changes_per_bar" in w.values for w in annotated) and any("starts_on_tonic" in w.values for w in annotated)


def test_whole_piece_entries_are_not_counted_as_windows():
    windows = [WindowValues("folk", "train", "nottingham", 8, {"starts_on_tonic": 1.0}) for _ in range(3)]
    windows += [WindowValues("folk", "train", "nottingham", 8, {"lag4_similarity": 0.5})]
    assert aggregate(windows)["8"]["folk"]["sources"] == {"nottingham": 1}
