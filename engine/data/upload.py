"""A MIDI file a user uploaded, read with bounded work: cheap checks first, then the Piece.

A 1 MiB file can hold 200,000 notes, hundreds of tracks or a timeline of millions of ticks, and pretty_midi's
time and memory grow with each. So the header and chunk layout are checked from the raw bytes, mido reads the
events (work bounded by the file's size), and the tracks, notes, length and tempi are checked on those events
before pretty_midi builds its note lists from the same parse. Every refusal is an UploadError whose message is
one plain sentence for the user, never an exception's name.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass

import mido
import pretty_midi

from engine.data.midi import CUT_SHORT, MidiReadError, midi_to_piece, plain_reason
from engine.music import Piece
from engine.request import MAX_BARS

log = logging.getLogger(__name__)

CANNOT_READ = "I could not read that MIDI file"


class UploadError(MidiReadError):
    """An upload the engine will not read; the message, a whole sentence, is meant for the user who sent it."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.reason = message


@dataclass(frozen=True)
class UploadLimits:
    """How much of a file is read at most. Only the first MAX_BARS bars are used; these leave room for whole
    songs while keeping reading under a second or two."""

    tracks: int = 64
    notes: int = 20_000
    bars: int = 1_000
    ticks: int = 4_000_000  # pretty_midi keeps one float per tick of the timeline (32 MB here)


def size_problem(size: int, limit: int) -> str | None:
    """Why a file of `size` bytes is refused under `limit`, or None when it fits. Sizes near the limit are
    given in bytes, so one byte over never reads as equal to the limit."""
    if size <= limit:
        return None
    return f"That file is {_size(size, limit)}; the limit is {_size(limit, size)}."


def _size(n: int, other: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and f"{n / scale:.1f}" != f"{other / scale:.1f}":
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"


def read_upload(data: bytes, limits: UploadLimits = UploadLimits()) -> Piece:
    """The Piece in an uploaded MIDI file; UploadError, saying why in a sentence, for anything it cannot use."""
    _check_layout(data, limits)
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises EOFError, OSError, ValueError, KeyError... on corrupt data
        raise UploadError(f"{CANNOT_READ}: {plain_reason(exc)}.") from None
    _check_events(midi, limits)
    # pretty_midi takes the maximum tick of every track: an empty track (a bare MTrk) would break it.
    midi.tracks = [track for track in midi.tracks if track]
    try:
        pm = pretty_midi.PrettyMIDI(mido_object=midi)
        return midi_to_piece(pm, name="upload", source_name="upload")
    except MidiReadError as exc:
        raise UploadError(f"{CANNOT_READ}: {exc.reason}.") from None
    except Exception as exc:  # a file that passed every check above and still failed: worth a look, not an alarm
        log.warning("Upload passed the checks but pretty_midi could not read it", exc_info=True)
        raise UploadError(f"{CANNOT_READ}: {plain_reason(exc)}.") from None


def _check_layout(data: bytes, limits: UploadLimits) -> None:
    """The header and the chunk layout, from the bytes alone: cheap, and it names what is wrong."""
    if not data:
        raise UploadError("That file is empty.")
    if data[:4] != b"MThd":
        raise UploadError("That is not a MIDI file: it does not start with a MIDI header.")
    if len(data) < 14:
        raise UploadError(f"{CANNOT_READ}: {CUT_SHORT}.")
    header_length, kind, declared, division = struct.unpack(">IHHH", data[4:14])
    if header_length < 6:
        raise UploadError(f"{CANNOT_READ}: its header is damaged.")
    if kind not in (0, 1, 2):
        raise UploadError(f"{CANNOT_READ}: its header names MIDI format {kind}; only formats 0, 1 and 2 exist.")
    if division & 0x8000:
        raise UploadError(f"{CANNOT_READ}: it is timed in SMPTE frames, not beats. Export it with beat-based timing (ticks per quarter note).")
    if division == 0:
        raise UploadError(f"{CANNOT_READ}: its header says a beat lasts 0 ticks.")
    if declared > limits.tracks:
        raise UploadError(f"That file has {declared:,} tracks; I read files of up to {limits.tracks}.")
    if declared == 0:
        raise UploadError("That MIDI file has no tracks, so there are no notes to work from.")
    position, tracks = 8 + header_length, 0
    while tracks < declared:  # other chunk types may sit between the tracks; they are skipped
        if position + 8 > len(data):
            raise UploadError(f"{CANNOT_READ}: {CUT_SHORT}.")
        name, length = data[position:position + 4], struct.unpack(">I", data[position + 4:position + 8])[0]
        position += 8 + length
        if position > len(data):
            raise UploadError(f"{CANNOT_READ}: {CUT_SHORT}.")
        tracks += name == b"MTrk"


def _check_events(midi: mido.MidiFile, limits: UploadLimits) -> None:
    """Notes, length and tempi, counted on mido's events before pretty_midi does anything with them."""
    notes, last_tick, beats_per_bar = 0, 0, None
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                notes += 1
            elif message.type == "set_tempo" and message.tempo == 0:
                raise UploadError(f"{CANNOT_READ}: it sets the tempo to zero, which no player can follow.")
            elif message.type == "time_signature" and beats_per_bar is None and message.denominator in (2, 4, 8, 16):
                beats_per_bar = message.numerator * 4 / message.denominator
        last_tick = max(last_tick, tick)
    if notes == 0:
        raise UploadError("That MIDI file has no notes to work from.")
    if notes > limits.notes:
        raise UploadError(f"That file has {notes:,} notes; I read files of up to {limits.notes:,}. "
                          f"Only the first {MAX_BARS} bars are used, so an excerpt works just as well.")
    bars = last_tick / midi.ticks_per_beat / (beats_per_bar or 4)
    if bars > limits.bars:
        raise UploadError(f"That file is about {bars:,.0f} bars long; I read files of up to {limits.bars:,}. "
                          f"Only the first {MAX_BARS} bars are used, so an excerpt works just as well.")
    if last_tick > limits.ticks:
        raise UploadError(f"{CANNOT_READ}: its timeline runs to {last_tick:,} ticks ({midi.ticks_per_beat:,} a beat), "
                          "more than I can hold. Export it with a coarser resolution, such as 480 ticks a beat.")
