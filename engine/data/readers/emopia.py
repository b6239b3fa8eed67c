"""EMOPIA: pop-piano clips in `midis.zip`, each named `Q<n>_<video id>_<clip>.mid` after its
valence/arousal quadrant (Q1 +/+, Q2 -/+, Q3 -/-, Q4 +/-)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.data.midi import MidiReadError, midi_to_piece
from engine.data.readers.base import Reader, ReaderError
from engine.music import Piece
from engine.labels import nearest_mood

# Quadrant -> (valence, arousal). 0.6 rather than 1: a quadrant says which side, not how far.
QUADRANTS = {1: (0.6, 0.6), 2: (-0.6, 0.6), 3: (-0.6, -0.6), 4: (0.6, -0.6)}
_NAME = re.compile(r"^Q([1-4])_(.+)_(\d+)\.midi?$")
MEMBER_SEPARATOR = "::"


def quadrant_of(file_name: str) -> int:
    m = _NAME.match(Path(file_name).name)
    if not m:
        raise ReaderError(f"{file_name}: EMOPIA names start with the quadrant, like Q1_<id>_0.mid")
    return int(m.group(1))


@dataclass
class EmopiaReader(Reader):
    source: str = "emopia"
    style: str = "pop"

    def items(self, root: Path) -> list[str]:
        archive = Path(root) / "midis.zip"
        try:
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith((".mid", ".midi"))]
        except (OSError, zipfile.BadZipFile) as exc:
            raise ReaderError(f"{archive}: cannot open the EMOPIA archive ({exc})") from exc
        return sorted(f"{archive}{MEMBER_SEPARATOR}{n}" for n in names)

    def read(self, item: str) -> list[Piece]:
        archive, _, member = item.partition(MEMBER_SEPARATOR)
        q = quadrant_of(member)
        try:
            with zipfile.ZipFile(archive) as zf:
                data = zf.read(member)
            piece = midi_to_piece(data, name=Path(member).stem, source_name=self.source, style=self.style)
        except (OSError, KeyError, zipfile.BadZipFile, MidiReadError) as exc:
            raise ReaderError(f"{item}: {exc}") from exc
        piece.valence, piece.arousal = QUADRANTS[q]
        piece.mood = nearest_mood(piece.valence, piece.arousal)
        # Clips of one song share a video id: the split must keep them together.
        piece.name = Path(member).stem
        return [piece]


def song_id(name: str) -> str:
    """The song an EMOPIA clip comes from (clips of one song must share a split)."""
    m = _NAME.match(name + ".mid")
    return m.group(2) if m else name
