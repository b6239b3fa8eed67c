"""VGMIDI: video-game piano pieces `labelled/midi/*.mid`; `vgmidi_labelled.csv` gives each piece's
valence and arousal in {-1, 1} (through its first phrase file)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from engine.data.midi import MidiReadError, midi_to_piece
from engine.data.readers.base import Reader, ReaderError
from engine.music import Piece
from engine.labels import nearest_mood

_SCALE = 0.6  # labels are signs; the mood plane's points sit inside the unit square


def read_labels(csv_path: Path) -> dict[str, tuple[float, float]]:
    """Piece file stem -> (valence, arousal)."""
    labels: dict[str, tuple[float, float]] = {}
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                stem = Path(row["midi"]).stem
                piece_stem = stem.rsplit("_", 1)[0] if stem.rsplit("_", 1)[-1].isdigit() else stem
                labels[piece_stem] = (float(row["valence"]) * _SCALE, float(row["arousal"]) * _SCALE)
    except (OSError, KeyError, ValueError) as exc:
        raise ReaderError(f"{csv_path}: cannot read VGMIDI labels ({type(exc).__name__}: {exc})") from exc
    return labels


@dataclass
class VgmidiReader(Reader):
    source: str = "vgmidi"
    style: str = "game"

    def items(self, root: Path) -> list[str]:
        return sorted(str(p) for p in (Path(root) / "labelled" / "midi").glob("*.mid"))

    def read(self, item: str) -> list[Piece]:
        path = Path(item)
        labels = read_labels(path.parent.parent.parent / "vgmidi_labelled.csv")
        try:
            piece = midi_to_piece(path, source_name=self.source, style=self.style)
        except MidiReadError as exc:
            raise ReaderError(str(exc)) from exc
        if path.stem in labels:
            piece.valence, piece.arousal = labels[path.stem]
            piece.mood = nearest_mood(piece.valence, piece.arousal)
        return [piece]
