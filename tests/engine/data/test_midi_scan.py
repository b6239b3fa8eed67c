"""The byte-level census agrees with mido's full parse on well-formed files, and says why on damaged ones."""

from __future__ import annotations

import io

import mido
import pytest

from engine.data.midi_scan import CUT_SHORT, MidiScanError, scan_midi


def busy_file() -> tuple[bytes, mido.MidiFile]:
    """Two tracks with every kind of event: notes (saved with running status), controllers, programs, bends,
    pressure, system exclusive, text, tempo and time signature."""
    mid = mido.MidiFile(ticks_per_beat=96)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=600_000), mido.MetaMessage("time_signature", numerator=3, denominator=4),
                                mido.MetaMessage("text", text="chord:Am", time=10)])
    band = mido.MidiTrack([mido.Message("program_change", program=33), mido.Message("sysex", data=[1, 2, 3, 4], time=3)])
    for i in range(40):
        band.append(mido.Message("note_on", channel=i % 3, note=40 + i, velocity=70 + i % 20, time=12))
        band.append(mido.Message("control_change", channel=i % 3, control=64, value=i % 2 * 127, time=1))
        band.append(mido.Message("pitchwheel", pitch=i * 50, time=2))
        band.append(mido.Message("aftertouch", value=i, time=0))
        band.append(mido.Message("note_on", channel=i % 3, note=40 + i, velocity=0, time=20))  # a note-off
    mid.tracks += [conductor, band]
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue(), mido.MidiFile(file=io.BytesIO(buffer.getvalue()))


def test_the_census_matches_midos_parse():
    data, parsed = busy_file()
    census = scan_midi(data)
    messages = [m for track in parsed.tracks for m in track]
    assert census.notes == sum(m.type == "note_on" and m.velocity > 0 for m in messages) == 40
    assert census.events == sum(not m.is_meta and m.type != "sysex" for m in messages)
    assert census.last_tick == max(sum(m.time for m in track) for track in parsed.tracks)
    assert (census.ticks_per_beat, census.declared_tracks, census.beats_per_bar, census.zero_tempo) == (96, 2, 3.0, False)
    assert census.bars == pytest.approx(census.last_tick / 96 / 3)


def test_damage_is_named():
    data, _ = busy_file()
    with pytest.raises(MidiScanError, match=CUT_SHORT):
        scan_midi(data[:-7])
    with pytest.raises(MidiScanError, match="MIDI header"):
        scan_midi(b"RIFF" + data[4:])
    garbled = bytearray(data)
    first_event = data.index(b"MTrk") + 8
    garbled[first_event + 1] = 0x05  # a data byte where the first status must be
    with pytest.raises(MidiScanError, match="without a status byte"):
        scan_midi(bytes(garbled))
