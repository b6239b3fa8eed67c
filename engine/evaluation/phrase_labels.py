"""A check of the phrase-repetition measure against people: POP909's human phrase labels
(pop909-structure: `human_label1.txt` such as `i4A8B8A8`, one letter per phrase and its length in bars;
the same uppercase letter = the same or varied melodic material).

For each pair of melodic phrases in a song, the first PHRASE_BARS bars of each are compared with
engine.evaluation.form's phrase similarity; pairs the annotator gave the same letter should score
at or above PHRASE_REPEAT_THRESHOLD, pairs with different letters below it. The agreement says how far
the measure's "repeats" means what a listener means; nothing is fitted to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.evaluation.form import PHRASE_BARS, PHRASE_REPEAT_THRESHOLD, bar_sets, jaccard, span_set
from engine.music import Note

_LABEL = re.compile(r"([A-Za-z])(\d+)")


def parse_labels(text: str) -> list[tuple[str, int, int]]:
    """(letter, first bar, bars) per phrase of a label string such as 'i4A8B8'."""
    out, bar = [], 0
    for letter, length in _LABEL.findall(text.strip()):
        out.append((letter, bar, int(length)))
        bar += int(length)
    return out


def read_structure_melody(path: Path) -> list[Note]:
    """pop909-structure's melody.txt: one 'pitch duration' row per note or rest (pitch 0), durations in 16ths from bar 0."""
    notes, t = [], 0
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        pitch, duration = int(parts[0]), int(parts[1])
        if pitch > 0:
            notes.append(Note(pitch, t, duration))
        t += duration
    return notes


@dataclass
class LabelAgreement:
    songs: int
    same_pairs: int
    different_pairs: int
    same_repeat_rate: float  # share of same-letter pairs the measure calls a repeat
    different_repeat_rate: float  # share of different-letter pairs it calls a repeat
    same_median: float
    different_median: float


def phrase_pairs(labels: list[tuple[str, int, int]], bars: list[frozenset]) -> list[tuple[bool, float]]:
    """(same letter, similarity of the phrases' first PHRASE_BARS bars) for every pair of melodic phrases at least that long."""
    phrases = [(letter, start) for letter, start, length in labels
               if letter.isupper() and length >= PHRASE_BARS and start + PHRASE_BARS <= len(bars)]
    sets = [(letter, span_set(bars, start, PHRASE_BARS)) for letter, start in phrases]
    out = []
    for i in range(len(sets)):
        for j in range(i):
            sim = jaccard(sets[i][1], sets[j][1])
            if not np.isnan(sim):
                out.append((sets[i][0] == sets[j][0], sim))
    return out


def label_agreement(structure_dir: Path, annotator: int = 1) -> LabelAgreement:
    """Agreement of the phrase measure with one annotator's labels over every song of the folder."""
    same, different, songs = [], [], 0
    for song in sorted(p for p in Path(structure_dir).iterdir() if p.is_dir()):
        label, melody = song / f"human_label{annotator}.txt", song / "melody.txt"
        if not (label.is_file() and melody.is_file()):
            continue
        notes = read_structure_melody(melody)
        total_bars = (max(n.end for n in notes) + 15) // 16 if notes else 0
        bars = bar_sets(notes, total_bars, 16)
        songs += 1
        for is_same, sim in phrase_pairs(parse_labels(label.read_text()), bars):
            (same if is_same else different).append(sim)
    same_a, diff_a = np.array(same), np.array(different)
    return LabelAgreement(
        songs, len(same_a), len(diff_a),
        float(np.mean(same_a >= PHRASE_REPEAT_THRESHOLD)) if len(same_a) else float("nan"),
        float(np.mean(diff_a >= PHRASE_REPEAT_THRESHOLD)) if len(diff_a) else float("nan"),
        float(np.median(same_a)) if len(same_a) else float("nan"),
        float(np.median(diff_a)) if len(diff_a) else float("nan"),
    )


if __name__ == "__main__":  # python -m engine.evaluation.phrase_labels [pop909-structure folder]
    import sys

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared" / "data" / "pop909-structure"
    for annotator in (1, 2):
        print(f"annotator {annotator}: {label_agreement(folder, annotator)}")
