"""The compact corpus cache: fixed-size, key-normalised 8-bar segments as numpy arrays in one .npz file.

Written by `tunesmith data build`, read by training, evaluation and the novelty check. Arrays are
indexed by segment; `pieces` names the piece each segment came from, so splits are by piece.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.tokens import N_DRUMS, STEPS_PER_BAR

CACHE_VERSION = 1
SEGMENT_BARS = 8
SEGMENT_STEPS = SEGMENT_BARS * STEPS_PER_BAR
SPLITS = ("train", "valid", "test")


@dataclass
class CorpusCache:
    """N segments. Token layouts are those of engine.tokens; drums are bit-packed (bit i = drum class i)."""

    melody: np.ndarray  # int16 [N, SEGMENT_STEPS]
    bass: np.ndarray  # int16 [N, SEGMENT_STEPS]
    chords: np.ndarray  # int16 [N, SEGMENT_STEPS // 4]
    drums: np.ndarray  # uint8 [N, SEGMENT_STEPS]
    has_bass: np.ndarray  # bool [N]
    has_drums: np.ndarray  # bool [N]
    mode: np.ndarray  # int8 [N]: 0 major, 1 minor
    style: np.ndarray  # int8 [N]: index into `styles`
    mood: np.ndarray  # int8 [N]: index into `moods`
    valence: np.ndarray  # float32 [N] in [-1, 1]
    arousal: np.ndarray  # float32 [N] in [-1, 1]
    mood_labelled: np.ndarray  # bool [N]: mood from a data set's labels (True) or estimated (False)
    tempo: np.ndarray  # float32 [N] bpm
    split: np.ndarray  # int8 [N]: index into SPLITS
    piece: np.ndarray  # int32 [N]: index into `pieces`
    first_bar: np.ndarray  # int16 [N]: where the segment starts in its piece
    pieces: list[dict] = field(default_factory=list)  # {"source", "name", "style"} per piece
    styles: list[str] = field(default_factory=list)
    moods: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.melody.shape[0])

    def drums_multi_hot(self, index: np.ndarray | slice | None = None) -> np.ndarray:
        """Unpacked drums [n, SEGMENT_STEPS, N_DRUMS] as uint8."""
        packed = self.drums if index is None else self.drums[index]
        bits = np.unpackbits(packed[..., None], axis=-1, bitorder="little")
        return bits[..., :N_DRUMS]

    def subset(self, mask: np.ndarray) -> "CorpusCache":
        arrays = {name: getattr(self, name)[mask] for name in _ARRAY_FIELDS}
        return CorpusCache(**arrays, pieces=self.pieces, styles=self.styles, moods=self.moods, meta=self.meta)

    def split_mask(self, split: str) -> np.ndarray:
        return self.split == SPLITS.index(split)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "version": CACHE_VERSION,
            "pieces": self.pieces,
            "styles": self.styles,
            "moods": self.moods,
            "meta": self.meta,
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **{n: getattr(self, n) for n in _ARRAY_FIELDS})
        tmp.replace(path)  # atomic: a re-run never leaves a half-written cache

    @classmethod
    def load(cls, path: str | Path) -> "CorpusCache":
        with np.load(Path(path), allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("version") != CACHE_VERSION:
                raise ValueError(f"{path}: cache version {header.get('version')} is not {CACHE_VERSION}; rebuild it with `tunesmith data build`")
            arrays = {n: data[n] for n in _ARRAY_FIELDS}
        return cls(**arrays, pieces=header["pieces"], styles=header["styles"], moods=header["moods"], meta=header["meta"])


_ARRAY_FIELDS = (
    "melody", "bass", "chords", "drums", "has_bass", "has_drums", "mode", "style", "mood",
    "valence", "arousal", "mood_labelled", "tempo", "split", "piece", "first_bar",
)


def pack_drums(multi_hot: np.ndarray) -> np.ndarray:
    """[..., N_DRUMS] 0/1 -> uint8 bitmask [...]."""
    padded = np.zeros(multi_hot.shape[:-1] + (8,), dtype=np.uint8)
    padded[..., :N_DRUMS] = multi_hot
    return np.packbits(padded, axis=-1, bitorder="little")[..., 0]
