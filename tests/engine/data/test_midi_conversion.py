from __future__ import annotations

import pretty_midi
import pytest
from tests.helpers.data_pieces import scale_piece

from engine.data.midi import MidiReadError, load_midi, midi_to_piece, piece_to_midi, piece_to_midi_bytes, write_midi
from engine.music import Key, Meter


def _signature(notes):
    return [(n.pitch, n.start, n.duration) for n in notes]


def test_round_trip_through_bytes_keeps_every_track(piece):
    back = midi_to_piece(piece_to_midi_bytes(piece))
    assert _signature(back.melody) == _signature(piece.melody)
    assert _signature(back.bass) == _signature(piece.bass)
    assert [(n.pitch, n.start) for n in back.drums] == [(n.pitch, n.start) for n in piece.drums]
    assert [(c.root, c.quality, c.start, c.duration) for c in back.harmony] == [(c.root, c.quality, c.start, c.duration) for c in piece.harmony]
    assert (back.key, back.meter, back.bars, back.tempo) == (piece.key, piece.meter, piece.bars, piece.tempo)


@pytest.mark.parametrize("key, meter, tempo", [(Key(9, "minor"), Meter(3, 4), 90.0), (Key(2, "major"), Meter(6, 8), 132.0)])
def test_round_trip_through_a_file_in_other_meters_and_keys(tmp_path, key, meter, tempo):
    piece = scale_piece(bars=6, key=key, meter=meter, tempo=tempo)
    path = write_midi(piece, tmp_path / "tune.mid")
    back = midi_to_piece(path)
    assert back.name == "tune"
    assert (back.key, back.meter, back.tempo, back.bars) == (key, meter, tempo, 6)
    assert _signature(back.melody) == _signature(piece.melody)


def test_unnamed_piano_file_splits_into_melody_bass_and_estimated_chords():
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    piano = pretty_midi.Instrument(program=0)
    spq = 60 / 100
    for beat in range(8):  # right hand melody over a left-hand C major / G major accompaniment
        t = beat * spq
        piano.notes.append(pretty_midi.Note(90, 72 + beat % 3, t, t + spq))
        root = 48 if beat < 4 else 43
        for p in (root, root + 4, root + 7):
            piano.notes.append(pretty_midi.Note(70, p, t, t + spq))
    pm.instruments.append(piano)
    piece = midi_to_piece(pm)
    assert [n.pitch for n in piece.melody] == [72 + b % 3 for b in range(8)]
    assert [n.pitch for n in piece.bass][:1] == [48]
    assert [(c.root, c.quality) for c in piece.harmony[:2]] == [(0, "maj"), (7, "maj")]


def test_a_tempo_change_does_not_move_notes_off_the_grid():
    pm = pretty_midi.PrettyMIDI(resolution=480)
    # Tempo 120 for the first bar, then 60: notes placed by tick must land on beats either way.
    pm._tick_scales = [(0, 60.0 / (120 * 480)), (1920, 60.0 / (60 * 480))]
    pm._update_tick_to_time(4000)
    inst = pretty_midi.Instrument(0, name="melody")
    for beat in range(8):
        start = pm.tick_to_time(beat * 480)
        inst.notes.append(pretty_midi.Note(80, 60 + beat, start, pm.tick_to_time(beat * 480 + 240)))
    pm.instruments.append(inst)
    piece = midi_to_piece(pm)
    assert [n.start for n in piece.melody] == [b * 4 for b in range(8)]


@pytest.mark.parametrize("data, message", [(b"", "not a MIDI file"), (b"RIFF0000", "not a MIDI file"), (b"MThd\x00\x00\x00\x06\x00\x01", "unreadable MIDI")])
def test_broken_bytes_raise_a_clear_error(data, message):
    with pytest.raises(MidiReadError, match=message):
        midi_to_piece(data)


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(MidiReadError, match="no such MIDI file"):
        load_midi(tmp_path / "absent.mid")
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    with pytest.raises(MidiReadError, match="no notes"):
        midi_to_piece(empty)
    assert issubclass(MidiReadError, ValueError)


def test_piece_to_midi_names_tracks_for_other_tools(piece):
    pm = piece_to_midi(piece)
    assert [i.name for i in pm.instruments] == ["Melody", "Harmony", "Bass", "Drums"]
    assert pm.instruments[-1].is_drum


def test_round_trips_a_real_pop909_file(shared_data, tmp_path):
    from engine.data.readers.pop909 import Pop909Reader

    original = Pop909Reader().read(str(shared_data / "pop909" / "001" / "001.mid"))[0].piece
    back = midi_to_piece(write_midi(original, tmp_path / "001.mid"))
    assert _signature(back.melody) == _signature(original.melody)
    assert _signature(back.bass) == _signature(original.bass)
    assert [(c.root, c.quality, c.start) for c in back.harmony] == [(c.root, c.quality, c.start) for c in original.harmony]
    assert back.key == original.key and back.bars == original.bars
