"""Groove MIDI Dataset: drum performances `drummerN/sessionM/*.mid` listed in `info.csv` (style, bpm,
beat or fill, time signature). Pieces have drums only; they are not in the model cache (its segments
need a melody) but the reader serves drum-pattern work and the arranger."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from engine.data.labelled import Labels, LabelledPiece
from engine.data.midi import MidiReadError, midi_to_piece
from engine.data.readers.base import Reader, ReaderError
from engine.music import Meter

# Groove MIDI's style names (the part before '/') -> our styles.
GROOVE_STYLES = {
    "rock": "rock", "punk": "rock", "country": "rock", "funk": "pop", "soul": "pop", "hiphop": "pop", "pop": "pop",
    "dance": "pop", "gospel": "pop", "reggae": "pop", "jazz": "jazz", "neworleans": "jazz", "blues": "blues",
    "latin": "latin", "afrocuban": "latin", "afrobeat": "latin", "highlife": "latin", "middleeastern": "latin",
}


def read_info(csv_path: Path) -> dict[str, dict[str, str]]:
    """midi_filename -> its info.csv row."""
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ReaderError(f"{csv_path}: cannot read Groove MIDI's info.csv ({exc})") from exc
    if rows and not {"midi_filename", "style", "bpm", "time_signature"} <= set(rows[0]):
        raise ReaderError(f"{csv_path}: not Groove MIDI's info.csv (needs midi_filename, style, bpm, time_signature)")
    return {r["midi_filename"]: r for r in rows}


@dataclass
class GrooveReader(Reader):
    source: str = "groove-midi"

    def items(self, root: Path) -> list[str]:
        info = read_info(Path(root) / "info.csv")
        return sorted(str(Path(root) / name) for name in info)

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        root = next((p for p in path.parents if (p / "info.csv").is_file()), None)
        if root is None:
            raise ReaderError(f"{path}: no info.csv above it (not in the Groove MIDI Dataset)")
        row = read_info(root / "info.csv").get(str(path.relative_to(root)))
        if row is None:
            raise ReaderError(f"{path}: not listed in {root / 'info.csv'}")
        num, _, den = row["time_signature"].partition("-")
        try:
            meter = Meter(int(num), int(den))
            piece = midi_to_piece(path, source_name=self.source, meter=meter, estimate_bass=False)
        except (ValueError, MidiReadError) as exc:
            raise ReaderError(f"{path}: {exc}") from exc
        if piece.melody or piece.bass or not piece.drums:
            raise ReaderError(f"{path}: expected a drums-only file")
        piece.name = f"{path.parent.parent.name}/{path.parent.name}/{path.stem}"
        return [LabelledPiece(piece, Labels(style=GROOVE_STYLES.get(row["style"].split("/")[0])))]
