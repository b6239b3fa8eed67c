"""Any folder of MIDI and score files (MusicXML, ABC, Humdrum) with one style: the sources a host names
with `tunesmith data build --source DIR:STYLE`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.data.labelled import Labels, LabelledPiece
from engine.data.midi import MidiReadError, midi_to_piece
from engine.data.readers.base import Reader, ReaderError
from engine.data.readers.score_files import SCORE_SUFFIXES, ScoreFileReader

MIDI_SUFFIXES = (".mid", ".midi", ".kar")


@dataclass
class FolderReader(Reader):
    style: str | None = None
    source: str = "folder"

    def items(self, root: Path) -> list[str]:
        root = Path(root)
        if not root.is_dir():
            raise ReaderError(f"{root}: not a folder")
        suffixes = MIDI_SUFFIXES + SCORE_SUFFIXES
        return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        if path.suffix.lower() in MIDI_SUFFIXES:
            try:
                return [LabelledPiece(midi_to_piece(path, source_name=self.source), Labels(style=self.style))]
            except MidiReadError as exc:
                raise ReaderError(str(exc)) from exc
        return ScoreFileReader(style=self.style, source=self.source).read(item)
