"""A standard MIDI file of an arrangement: one named track per role, with tempo, key and time signature."""

from __future__ import annotations

import io

from engine.arrange import Arrangement


def render_midi_bytes(arrangement: Arrangement) -> bytes:
    """The arrangement as a type-1 MIDI file. Each track is named by its role and starts with its program."""
    buffer = io.BytesIO()
    arrangement.midi.write(buffer)
    return buffer.getvalue()
