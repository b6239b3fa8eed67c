"""A MIDI file a user uploaded, read with bounded work: cheap checks first, then the Piece.

A 1 MiB file can hold 200,000 notes, hundreds of tracks or a timeline of millions of ticks, and parsing time
and memory grow with each (mido alone took seconds for such a file). So the bytes are first counted
(engine.data.midi_scan: tracks, notes, events, length, tempi) and checked against UploadLimits; only a file
within them is parsed by mido, and pretty_midi builds its notes from that same parse. Every refusal is an
UploadError whose message is one plain sentence for the user, never an exception's name.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import mido
import pretty_midi

from engine.data.midi import MidiReadError, midi_to_piece, plain_reason
from engine.data.midi_scan import MidiCensus, MidiScanError, scan_midi
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
    songs while keeping the parse of the largest accepted file to a second or two on a busy machine."""

    tracks: int = 64
    notes: int = 20_000
    events: int = 60_000  # every channel message (notes, controllers, bends): pretty_midi makes an object of each
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
    if not data:
        raise UploadError("That file is empty.")
    if data[:4] != b"MThd":
        raise UploadError("That is not a MIDI file: it does not start with a MIDI header.")
    try:
        _check(scan_midi(data), limits)
    except MidiScanError as exc:
        raise UploadError(f"{CANNOT_READ}: {exc}.") from None
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises EOFError, OSError, ValueError, KeyError... on corrupt data
        raise UploadError(f"{CANNOT_READ}: {plain_reason(exc)}.") from None
    # pretty_midi takes the maximum tick of every track: an empty track (a bare MTrk) would break it.
    midi.tracks = [track for track in midi.tracks if track]
    try:
        pm = pretty_midi.PrettyMIDI(mido_object=midi)
        piece = midi_to_piece(pm, name="upload", source_name="upload", max_bars=MAX_BARS)
    except MidiReadError as exc:
        raise UploadError(f"{CANNOT_READ}: {exc.reason}.") from None
    except Exception as exc:  # a file that passed every check above and still failed: worth a look, not an alarm
        log.warning("Upload passed the checks but pretty_midi could not read it", exc_info=True)
        raise UploadError(f"{CANNOT_READ}: {plain_reason(exc)}.") from None
    # A note that starts in the last bar may ring past it: the piece is the bars that are used, no more.
    return piece.window(0, MAX_BARS) if piece.bars > MAX_BARS else piece


EXCERPT = f"Only the first {MAX_BARS} bars are used, so an excerpt works just as well."


def _check(census: MidiCensus, limits: UploadLimits) -> None:
    if census.declared_tracks == 0:
        raise UploadError("That MIDI file has no tracks, so there are no notes to work from.")
    if census.declared_tracks > limits.tracks:
        raise UploadError(f"That file has {census.declared_tracks:,} tracks; I read files of up to {limits.tracks}.")
    if census.zero_tempo:
        raise UploadError(f"{CANNOT_READ}: it sets the tempo to zero, which no player can follow.")
    if census.notes == 0:
        raise UploadError("That MIDI file has no notes to work from.")
    if census.notes > limits.notes:
        raise UploadError(f"That file has {census.notes:,} notes; I read files of up to {limits.notes:,}. {EXCERPT}")
    if census.events > limits.events:
        raise UploadError(f"That file has {census.events:,} MIDI events (notes, controllers, pitch bends); "
                          f"I read files of up to {limits.events:,}. {EXCERPT}")
    if census.bars > limits.bars:
        raise UploadError(f"That file is about {census.bars:,.0f} bars long; I read files of up to {limits.bars:,}. {EXCERPT}")
    if census.last_tick > limits.ticks:
        raise UploadError(f"{CANNOT_READ}: its timeline runs to {census.last_tick:,} ticks ({census.ticks_per_beat:,} a beat), "
                          "more than I can hold. Export it with a coarser resolution, such as 480 ticks a beat.")
