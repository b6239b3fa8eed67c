"""Phrase structures of real pop songs, learned from the human labels of POP909 (pop909-structure).

A label such as "i4A8B8x4A8B8B8o4" is one letter a phrase and its length in bars: upper case a phrase
with melody, lower case one without (intro, bridge, outro); the same letter is the same or varied
material. For a piece of 16 or 32 bars we take a song's melodic phrases from its start, each rounded to
4 or 8 bars, letters renamed in order of appearance (the first is A), and cut to the length. The counts
of each structure over both annotators' labels are the distribution pop and rock forms are drawn from.

    tunesmith data forms              # rewrites pop909_forms.json from ../shared/data/pop909-structure
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path

FORMS_PATH = Path(__file__).with_name("pop909_forms.json")
LENGTHS = (16, 32)
_PHRASE = re.compile(r"([A-Za-z])(\d+)")


def melodic_structure(label: str, bars: int) -> tuple[str, ...] | None:
    """The first `bars` bars of a label's melodic phrases, e.g. ("A8", "B8"); None if the song is shorter."""
    out: list[tuple[str, int]] = []
    names: dict[str, str] = {}
    total = 0
    for letter, length in _PHRASE.findall(label):
        if not letter.isupper():
            continue
        size = 8 if int(length) >= 6 else 4
        name = names.setdefault(letter, "ABCDEFGH"[min(len(names), 7)])
        size = min(size, bars - total)
        out.append((name, size))
        total += size
        if total >= bars:
            return tuple(f"{n}{s}" for n, s in out)
    return None


def write_learned(folder: Path, path: Path = FORMS_PATH) -> dict:
    """Learn the structures from `folder` and write them to `path` (the shipped file by default)."""
    result = learn(folder)
    path.write_text(json.dumps(result, indent=1) + "\n")
    learned_structures.cache_clear()
    return result


def learn(folder: Path) -> dict:
    counts: dict[int, Counter] = {n: Counter() for n in LENGTHS}
    songs = 0
    for song in sorted(p for p in folder.iterdir() if p.is_dir()):
        labels = [p.read_text().strip() for p in sorted(song.glob("human_label*.txt"))]
        songs += bool(labels)
        for label in labels:
            for n in LENGTHS:
                structure = melodic_structure(label, n)
                if structure:
                    counts[n][" ".join(structure)] += 1
    return {
        "source": "pop909-structure (human phrase labels of POP909, both annotators)",
        "built": date.today().isoformat(),
        "songs": songs,
        "structures": {str(n): dict(counts[n].most_common()) for n in LENGTHS},
    }


@lru_cache(maxsize=1)
def learned_structures() -> dict[int, list[tuple[tuple[str, ...], int]]]:
    """{bars: [(structure, count), ...]} from the shipped file; empty when it is missing."""
    if not FORMS_PATH.is_file():
        return {}
    data = json.loads(FORMS_PATH.read_text())["structures"]
    return {int(n): [(tuple(s.split()), c) for s, c in table.items()] for n, table in data.items()}


