"""The form measures on small hand-made pieces and MIDI files whose answers are known."""

from __future__ import annotations

import math

import pretty_midi
import pytest

from engine.evaluation.form import (
    PHRASE_REPEAT_THRESHOLD, bar_sets, band_form, chord_changes_per_bar, empty_beat_share, ends_on_tonic, jaccard,
    midi_notes_on_grid, new_rhythm_share, phrase_similarity, piece_form, section_chord_match, starts_on_tonic, velocity_sd,
)
from engine.music import Chord, Key, Note, Piece


def bar_of(pitches_steps: list[tuple[int, int]], bar: int, duration: int = 2, velocity: int = 90) -> list[Note]:
    return [Note(p, bar * 16 + s, duration, velocity) for p, s in pitches_steps]


PHRASE_A = [[(60, 0), (62, 4), (64, 8)], [(65, 0), (67, 8)], [(69, 0), (67, 4), (65, 8), (64, 12)], [(62, 0)]]
PHRASE_B = [[(72, 2), (71, 6)], [(69, 2), (67, 10)], [(65, 6)], [(64, 2), (60, 14)]]


def piece_of(bars_notes: list[list[tuple[int, int]]], harmony: list[Chord] | None = None, key: Key = Key(0, "major")) -> Piece:
    melody = [n for b, notes in enumerate(bars_notes) for n in bar_of(notes, b)]
    return Piece(bars=len(bars_notes), key=key, melody=melody, harmony=harmony or [])


def test_jaccard_counts_shared_events_and_skips_two_empty_sets():
    assert jaccard(frozenset({1, 2, 3}), frozenset({2, 3, 4})) == pytest.approx(0.5)
    assert math.isnan(jaccard(frozenset(), frozenset()))
    assert jaccard(frozenset({1}), frozenset()) == 0.0


def test_a_repeated_phrase_is_found_and_counted_as_a_repeat():
    form = piece_form(piece_of(PHRASE_A + PHRASE_A))
    assert form.phrase_similarity == pytest.approx(1.0)
    assert form.phrase_repeats == 1.0
    assert form.lag4_similarity == pytest.approx(1.0)
    # Bars of phrase A share nothing with each other at lags 1-3, so the other lags stay far below 1.
    assert form.other_lag_similarity < 0.3


def test_two_different_phrases_do_not_repeat():
    form = piece_of(PHRASE_A + PHRASE_B)
    measured = piece_form(form)
    assert measured.phrase_similarity == pytest.approx(0.0)
    assert measured.phrase_repeats == 0.0
    assert measured.lag4_similarity == pytest.approx(0.0)


def test_a_varied_phrase_scores_its_share_of_kept_notes():
    varied = [list(b) for b in PHRASE_A]
    varied[3] = [(60, 0)]  # one note of 10 changed pitch: 9 kept, union 11
    assert phrase_similarity(bar_sets(piece_of(PHRASE_A + varied).melody, 8, 16)) == pytest.approx(9 / 11)
    assert 9 / 11 >= PHRASE_REPEAT_THRESHOLD


def test_pitch_class_not_octave_decides_sameness():
    up = [[(p + 12, s) for p, s in bar] for bar in PHRASE_A]
    assert piece_form(piece_of(PHRASE_A + up)).phrase_similarity == pytest.approx(1.0)


def test_half_similarity_compares_the_first_eight_bars_with_the_next_eight():
    same = piece_form(piece_of(PHRASE_A + PHRASE_B + PHRASE_A + PHRASE_B))
    assert same.half_similarity == pytest.approx(1.0)
    other = piece_form(piece_of(PHRASE_A + PHRASE_B + PHRASE_B + PHRASE_A))
    assert other.half_similarity == pytest.approx(0.0)
    assert math.isnan(piece_form(piece_of(PHRASE_A + PHRASE_B)).half_similarity)


def test_new_rhythm_share_counts_first_appearances_among_sounding_bars():
    a, b = frozenset({0, 4, 8, 12}), frozenset({0, 6})
    assert new_rhythm_share([a, a, b, a, frozenset()]) == pytest.approx(2 / 4)
    assert math.isnan(new_rhythm_share([frozenset(), frozenset()]))
    # Rhythm ignores pitch: the same onsets on other notes are the same rhythm.
    piece = piece_of([[(60, 0), (62, 8)], [(70, 0), (65, 8)], [(60, 0), (62, 4)]])
    assert piece_form(piece).melody_new_rhythm_share == pytest.approx(2 / 3)


def test_harmonic_rhythm_counts_chord_changes_per_bar():
    one_per_bar = [Chord(r, "maj", b * 16, 16) for b, r in enumerate([0, 5, 7, 0])]
    piece = Piece(bars=4, harmony=one_per_bar)
    assert chord_changes_per_bar(piece) == pytest.approx(3 / 4)
    two_per_bar = [Chord(r, "maj", i * 8, 8) for i, r in enumerate([0, 5, 7, 0, 5, 7, 0, 5])]
    assert chord_changes_per_bar(Piece(bars=4, harmony=two_per_bar)) == pytest.approx(7 / 4)
    held = [Chord(0, "maj", 0, 64)]
    assert chord_changes_per_bar(Piece(bars=4, harmony=held)) == 0.0
    assert math.isnan(chord_changes_per_bar(Piece(bars=4)))


def test_section_chord_match_finds_section_one_s_chords_in_a_later_section():
    first = [0, 9, 5, 7, 0, 9, 5, 7]
    later = [0, 9, 5, 7, 0, 9, 2, 2]  # 6 of 8 bars in place
    bridge = [5, 5, 4, 4, 2, 2, 7, 7]
    roots = first + bridge + later + bridge
    harmony = [Chord(r, "maj", b * 16, 16) for b, r in enumerate(roots)]
    piece = Piece(bars=32, harmony=harmony)
    assert section_chord_match(piece) == pytest.approx(0.75)
    assert piece_form(piece).section_repeats == 1.0
    # A different quality on the same root is a different chord.
    minor = [Chord(r, "min", b * 16, 16) for b, r in enumerate(later)]
    piece2 = Piece(bars=16, harmony=[Chord(r, "maj", b * 16, 16) for b, r in enumerate(first)] + [c for c in
                   (Chord(c.root, c.quality, c.start + 128, 16) for c in minor)])
    assert section_chord_match(piece2) == 0.0
    assert math.isnan(section_chord_match(Piece(bars=8, harmony=harmony[:8])))


def test_tonic_at_start_and_end_read_the_key():
    harmony = [Chord(7, "maj", 0, 16), Chord(0, "maj", 16, 16), Chord(None, "maj", 32, 16)]
    in_c = Piece(bars=3, key=Key(0, "major"), harmony=harmony)
    assert starts_on_tonic(in_c) == 0.0 and ends_on_tonic(in_c) == 1.0
    in_g = Piece(bars=3, key=Key(7, "major"), harmony=harmony)
    assert starts_on_tonic(in_g) == 1.0 and ends_on_tonic(in_g) == 0.0
    assert math.isnan(starts_on_tonic(Piece(bars=2)))


def test_velocity_spread_and_empty_beats():
    notes = [Note(60, 0, 4, 80), Note(62, 4, 4, 100)]
    assert velocity_sd(notes) == pytest.approx(10.0)
    assert math.isnan(velocity_sd(notes[:1]))
    # Two beats of a 4-beat bar sound; a note held over a beat line fills both beats.
    assert empty_beat_share(notes, 16) == pytest.approx(0.5)
    assert empty_beat_share([Note(60, 2, 4, 90)], 16) == pytest.approx(0.5)


def _band(pattern_bars: int = 4, swing_shift: float = 0.0) -> tuple[pretty_midi.PrettyMIDI, list[float]]:
    """One intro bar, `pattern_bars` bars at 120 bpm (2 s a bar), one ending bar."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody = pretty_midi.Instrument(0, name="Melody")
    bass = pretty_midi.Instrument(33, name="Bass")
    drums = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    bar = 2.0
    for b in range(1, 1 + pattern_bars):
        t0 = b * bar
        for i, v in enumerate((70, 90)):
            melody.notes.append(pretty_midi.Note(v, 64 + b, t0 + i * 1.0, t0 + i * 1.0 + 0.4))
        for beat in range(4):
            bass.notes.append(pretty_midi.Note(80, 36, t0 + beat * 0.5, t0 + beat * 0.5 + 0.4))
        # Kick on 1, snare on 3; the off-beat hi-hat is swung late by `swing_shift` seconds, and bar 3 adds a hit.
        drums.notes.append(pretty_midi.Note(100, 36, t0, t0 + 0.1))
        drums.notes.append(pretty_midi.Note(100, 38, t0 + 1.0, t0 + 1.1))
        drums.notes.append(pretty_midi.Note(80, 42, t0 + 0.25 + swing_shift, t0 + 0.3 + swing_shift))
        if b == 3:
            drums.notes.append(pretty_midi.Note(60, 45, t0 + 1.75, t0 + 1.8))
    # Intro and ending notes must not count.
    bass.notes.append(pretty_midi.Note(80, 40, 0.0, 1.0))
    bass.notes.append(pretty_midi.Note(80, 40, (1 + pattern_bars) * bar, (1 + pattern_bars) * bar + 1.0))
    pm.instruments += [melody, bass, drums]
    return pm, [i * bar for i in range(pattern_bars + 3)]


def test_band_form_measures_the_piece_s_bars_only():
    pm, times = _band()
    form = band_form(pm, times, first_bar=1, bars=4)
    assert form.bars == 4
    assert form.notes_per_bar == pytest.approx(6.0)  # 2 melody + 4 bass notes a bar
    assert form.part_new_rhythm_share == {"Melody": pytest.approx(0.25), "Bass": pytest.approx(0.25)}
    assert form.drums_new_pattern_share == pytest.approx(2 / 4)  # the bar with the tom is a second pattern
    assert form.melody_velocity_sd == pytest.approx(10.0)
    assert form.empty_beat_share == 0.0
    flat = form.as_dict()
    assert flat["band_bass_new_rhythm_share"] == pytest.approx(0.25) and flat["band_drums_new_pattern_share"] == pytest.approx(0.5)
    assert flat["band_notes_per_bar"] == pytest.approx(6.0) and set(flat) >= {"band_melody_new_rhythm_share", "band_empty_beat_share"}


def test_humanised_onsets_land_on_their_step():
    pm, times = _band(swing_shift=0.04)  # 40 ms late: less than half a 16th (125 ms at 120 bpm)
    hats = [n for n in midi_notes_on_grid(pm.instruments[2], times, 1, 4) if n.pitch == 42]
    assert [n.start for n in hats] == [2, 18, 34, 50]
    assert band_form(pm, times, first_bar=1, bars=4).drums_new_pattern_share == pytest.approx(2 / 4)


def test_band_form_refuses_a_window_without_bars():
    pm, times = _band()
    with pytest.raises(ValueError):
        band_form(pm, times, first_bar=len(times) - 1)
