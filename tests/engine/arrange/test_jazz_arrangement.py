"""The jazz arrangement swings, walks and rides: checked on the MIDI by code."""

from __future__ import annotations

import statistics

import pytest

from engine.arrange import arrange
from tests.helpers.plans import plan_for
from engine.arrange.examples import ii_v_i
from engine.music import STEPS_PER_BEAT

TEMPO = 120.0
BEAT = 60.0 / TEMPO


@pytest.fixture(scope="module")
def jazz():
    piece = ii_v_i(bars=8, tempo=TEMPO)
    return piece, arrange(piece, plan_for(piece, "jazz", "happy", 7))


def _part(arrangement, role):
    return next(i for i in arrangement.midi.instruments if i.name == role)


def _body_window(arrangement, piece):
    """Seconds where the body plays at the written tempo: after the intro, before the closing ritardando."""
    intro_bars = arrangement.intro_bars
    start = arrangement.bar_times[intro_bars]
    end = arrangement.bar_times[intro_bars + piece.bars - 1]
    return intro_bars, start, end


def test_offbeat_eighths_are_delayed(jazz):
    piece, arrangement = jazz
    _, start, end = _body_window(arrangement, piece)
    fractions = [((n.start / BEAT) % 1.0) for n in _part(arrangement, "Melody").notes if start <= n.start < end]
    offbeats = [f for f in fractions if 0.3 < f < 0.9]
    assert len(offbeats) > 20
    ratio = statistics.median(offbeats)
    assert 0.58 <= ratio <= 0.72, f"off-beat eighths at {ratio:.2f} of the beat: not swung"
    assert arrangement.swing == pytest.approx(ratio, abs=0.04)


def test_walking_bass_plays_one_note_per_beat_mostly_chord_tones(jazz):
    piece, arrangement = jazz
    intro_bars, start, end = _body_window(arrangement, piece)
    notes = [n for n in _part(arrangement, "Bass").notes if start - 0.05 <= n.start < end - 0.05]
    beats = round((end - start) / BEAT)
    assert len(notes) == beats, f"{len(notes)} bass notes over {beats} beats"
    chord_tones = 0
    for n in notes:
        beat_position = (n.start - start) / BEAT
        assert abs(beat_position - round(beat_position)) < 0.1, "walking bass notes fall on the beat"
        chord = piece.chord_at(round(beat_position) * STEPS_PER_BEAT)
        chord_tones += n.pitch % 12 in chord.pitch_classes()
    assert chord_tones / len(notes) >= 0.6, f"only {chord_tones}/{len(notes)} bass notes are chord tones"
    assert all(28 <= n.pitch <= 55 for n in notes)


def test_bass_lands_on_the_root_when_the_chord_changes(jazz):
    piece, arrangement = jazz
    intro_bars, start, end = _body_window(arrangement, piece)
    bass = _part(arrangement, "Bass").notes
    on_root = total = 0
    for chord in piece.harmony[:-1]:
        t = start + chord.start / STEPS_PER_BEAT * BEAT
        note = min(bass, key=lambda n: abs(n.start - t))
        total += 1
        on_root += note.pitch % 12 == chord.root
    assert on_root / total >= 0.75


def test_drums_ride_with_hihat_on_two_and_four(jazz):
    piece, arrangement = jazz
    _, start, end = _body_window(arrangement, piece)
    drums = [n for n in _part(arrangement, "Drums").notes if start <= n.start < end]
    ride = [n for n in drums if n.pitch in (51, 59)]
    assert len(ride) >= 2 * piece.bars, "the ride keeps time"
    # The grooves are bars drummers played (Groove MIDI): between the strokes on 2 and 4, soft feathered ones.
    hats = [n for n in drums if n.pitch in (42, 44) and n.velocity >= 50]
    beats_in_bar = [round((n.start - start) / BEAT) % 4 for n in hats]
    assert len(hats) >= piece.bars - 1 and all(b in (1, 3) for b in beats_in_bar), "hi-hat closes on 2 and 4"


def test_piano_comps_with_rootless_or_shell_voicings_off_the_beat(jazz):
    piece, arrangement = jazz
    _, start, end = _body_window(arrangement, piece)
    piano = [n for n in _part(arrangement, "Piano").notes if start <= n.start < end]
    onsets = sorted({round((n.start - start) / BEAT * 2) / 2 for n in piano})
    assert any(o % 1 for o in onsets), "comping is syncopated: some chords fall off the beat"
    rootless = 0
    groups = {}
    for n in piano:
        groups.setdefault(round(n.start, 1), []).append(n.pitch)
    for t, pitches in groups.items():
        chord = piece.chord_at(int(round((t - start) / BEAT * STEPS_PER_BEAT)))
        if chord is not None:
            rootless += min(pitches) % 12 != chord.root
    assert rootless / len(groups) >= 0.6, "the left hand leaves the root to the bass"
