from __future__ import annotations

import numpy as np
import pytest

from engine.data.chords import ChordSymbolError, estimate_chord, estimate_harmony, merge_chords, parse_chord_symbol
from engine.music import QUALITY_NAMES, Chord, Note


@pytest.mark.parametrize(
    "text, root, quality, bass",
    [
        ("C-7", 0, "min7", None),  # Weimar Jazz Database
        ("Bbj7", 10, "maj7", None),
        ("F7alt", 5, "7", None),
        ("Dm7b5", 2, "hdim7", None),
        ("Ebj7911#", 3, "maj9", None),
        ("Fsus7913", 5, "7sus4", None),
        ("C79b", 0, "7b9", None),
        ("G-j7", 7, "minmaj7", None),
        ("CM7", 0, "maj7", None),  # Impro-Visor
        ("Co7", 0, "dim7", None),
        ("B:maj", 11, "maj", None),  # Harte (POP909, CoCoPops)
        ("E:min7/b7", 4, "min7", 2),
        ("F#:sus4(b7)", 6, "7sus4", None),
        ("D:maj/3", 2, "maj", 6),
        ("Ab-6/Eb", 8, "min6", 3),
        ("G7/B", 7, "7", 11),
        ("C69", 0, "6", None),
    ],
)
def test_parses_the_data_sets_notations(text, root, quality, bass):
    chord = parse_chord_symbol(text)
    assert (chord.root, chord.quality, chord.bass) == (root, quality, bass)


@pytest.mark.parametrize("text", ["NC", "N", "N.C."])
def test_no_chord(text):
    assert parse_chord_symbol(text).is_rest


@pytest.mark.parametrize("quality", QUALITY_NAMES)
def test_every_quality_round_trips_through_its_symbol(quality):
    chord = Chord(3, quality, 0, 4)
    assert parse_chord_symbol(chord.symbol()).quality == quality


@pytest.mark.parametrize("text", ["H7", "lick", "Cxyz"])
def test_garbage_raises_a_clear_error(text):
    with pytest.raises(ChordSymbolError, match=text):
        parse_chord_symbol(text)


def test_estimates_triads_and_sevenths_from_pitch_classes():
    profile = np.zeros(12)
    profile[[9, 0, 4]] = 1  # A C E
    assert estimate_chord(profile) == (9, "min")
    profile[7] = 1  # + G
    assert estimate_chord(profile, bass_pc=9) == (9, "min7")
    assert estimate_chord(np.zeros(12)) is None


def test_estimate_harmony_merges_repeated_chords():
    notes = [Note(p, 0, 16, 80) for p in (48, 52, 55)] + [Note(p, 16, 16, 80) for p in (53, 57, 60)]
    chords = estimate_harmony(notes, 32, beats_per_chord=2)
    assert [(c.root, c.quality, c.start, c.duration) for c in chords] == [(0, "maj", 0, 16), (5, "maj", 16, 16)]


def test_merge_chords_clips_overlaps_and_joins_equal_neighbours():
    merged = merge_chords([Chord(0, "maj", 0, 8), Chord(0, "maj", 8, 8), Chord(7, "7", 12, 8)])
    assert [(c.root, c.start, c.duration) for c in merged] == [(0, 0, 12), (7, 12, 8)]
