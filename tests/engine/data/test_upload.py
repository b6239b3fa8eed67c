"""Reading uploads: broken and hostile files get one plain sentence each, limits are checked before
pretty_midi runs, and sizes one byte over the limit never read as equal to it."""

from __future__ import annotations

import io
import random
import re

import mido
import pytest

from engine.data import upload as upload_module
from engine.data.upload import UploadError, UploadLimits, read_upload, size_problem

# What a message must never show the user: exception names and Python's own wording.
PYTHON_WORDS = re.compile(r"Error\b|Exception|division by zero|arg is an empty sequence|Traceback|object has no|index out of range")


def midi_bytes(notes: int = 8, *, ticks_per_beat: int = 480, tempo: int = 500_000, step: int | None = None,
               extra_tracks: int = 0, time_signature: tuple[int, int] | None = None) -> bytes:
    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=tempo))
    if time_signature:
        track.append(mido.MetaMessage("time_signature", numerator=time_signature[0], denominator=time_signature[1]))
    step = step if step is not None else ticks_per_beat // 2
    for i in range(notes):
        pitch = 60 + (i * 5) % 24
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=step))
    for _ in range(extra_tracks):
        mid.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def refusal(data: bytes, limits: UploadLimits = UploadLimits()) -> str:
    with pytest.raises(UploadError) as caught:
        read_upload(data, limits)
    message = str(caught.value)
    assert caught.value.reason == message
    assert not PYTHON_WORDS.search(message), message
    assert message.endswith("."), message
    return message


def test_a_valid_file_becomes_a_piece():
    piece = read_upload(midi_bytes(16))
    assert piece.bars == 2 and len(piece.melody) == 16 and piece.tempo == 120.0


GOOD = midi_bytes(8)
ZERO_TEMPO = GOOD.replace(b"\xff\x51\x03\x07\xa1\x20", b"\xff\x51\x03\x00\x00\x00")


@pytest.mark.parametrize("data, expected", [
    (b"", "empty"),
    (b"hello, not music", "not a MIDI file"),
    (GOOD[:10], "cut short"),
    (GOOD[:14], "cut short"),
    (GOOD[:30], "cut short"),
    (GOOD[:-3], "cut short"),
    (ZERO_TEMPO, "tempo to zero"),
    (GOOD[:12] + b"\x00\x00" + GOOD[14:], "0 ticks"),
    (GOOD[:12] + b"\xe7\x28" + GOOD[14:], "SMPTE"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0", "no tracks"),
    (GOOD[:14] + b"MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "no notes"),
    (b"MThd\x00\x00\x00\x06garbage", "could not read"),
    (midi_bytes(8, time_signature=(5, 32)), "time signature 5/32"),
])
def test_broken_files_get_a_plain_sentence(data, expected):
    assert ZERO_TEMPO != GOOD
    assert expected in refusal(data)


def test_a_long_file_is_read_as_the_bars_that_are_used():
    from engine.request import MAX_BARS

    piece = read_upload(midi_bytes(400, step=480))  # 400 quarter notes: 100 bars of 4/4
    assert piece.bars == MAX_BARS
    assert max(n.end for n in piece.melody) <= MAX_BARS * 16 and len(piece.melody) == MAX_BARS * 4


def test_an_empty_track_among_good_ones_is_tolerated():
    # pretty_midi alone fails on it with "max() arg is an empty sequence".
    data = GOOD[:10] + b"\x00\x02" + GOOD[12:] + b"MTrk\x00\x00\x00\x00"
    assert len(read_upload(data).melody) == 8


def test_every_truncation_and_random_damage_is_a_refusal_or_a_piece():
    """Fuzz: every prefix of a small file, and bytes overwritten at random (fixed seed): never anything but
    a Piece or an UploadError with a plain sentence."""
    data = midi_bytes(12, extra_tracks=1)
    damaged = [data[:n] for n in range(len(data))]
    rng = random.Random(13)
    for _ in range(300):
        copy = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        damaged.append(bytes(copy))
    outcomes = {"piece": 0, "refused": 0}
    for sample in damaged:
        try:
            read_upload(sample)
            outcomes["piece"] += 1
        except UploadError as exc:
            assert not PYTHON_WORDS.search(str(exc)), (sample, str(exc))
            outcomes["refused"] += 1
    assert outcomes["refused"] >= len(data)  # at least every truncation


@pytest.mark.parametrize("data, limits, expected", [
    (midi_bytes(101), UploadLimits(notes=100), "101 notes; I read files of up to 100"),
    (midi_bytes(4, extra_tracks=9), UploadLimits(tracks=8), "10 tracks; I read files of up to 8"),
    (midi_bytes(4, step=480 * 4 * 30), UploadLimits(bars=100), "about 120 bars long; I read files of up to 100"),
    (midi_bytes(4, ticks_per_beat=30_000, step=30_000 * 40), UploadLimits(), "ticks"),
])
def test_limits_are_checked_before_pretty_midi_runs(monkeypatch, data, limits, expected):
    def not_reached(*args, **kwargs):
        raise AssertionError("pretty_midi was asked to read a file the limits refuse")

    monkeypatch.setattr(upload_module.pretty_midi, "PrettyMIDI", not_reached)
    assert expected in refusal(data, limits)


def test_the_default_limits_refuse_too_many_notes_and_say_what_to_do():
    message = refusal(midi_bytes(20_001, step=1))
    assert "20,001 notes" in message and "up to 20,000" in message and "excerpt" in message


def test_sizes_one_byte_over_the_limit_do_not_read_as_equal():
    mib = 1024 * 1024
    message = size_problem(mib + 1, mib)
    assert message is not None and "1,048,577 bytes" in message and "1,048,576 bytes" in message
    assert size_problem(mib, mib) is None
    assert size_problem(2 * mib, mib) == "That file is 2.0 MiB; the limit is 1.0 MiB."
