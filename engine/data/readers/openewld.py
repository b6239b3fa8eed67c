"""OpenEWLD: MusicXML lead sheets (`dataset/**.mxl`) with genres and styles per work in `OpenEWLD.db`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.data.labelled import LabelledPiece
from engine.data.readers.base import ReaderError
from engine.data.readers.score_files import ScoreFileReader

# Discogs genres and styles in the database -> our styles. Styles (more specific) win over genres.
_STYLE_MAP = {"bossa nova": "latin", "latin jazz": "latin", "samba": "latin", "cha-cha": "latin", "mambo": "latin",
              "rumba": "latin", "bolero": "latin", "tango": "latin", "blues rock": "blues", "chicago blues": "blues",
              "delta blues": "blues", "country blues": "blues", "piano blues": "blues", "rock & roll": "rock",
              "pop rock": "rock", "hard rock": "rock", "country rock": "rock", "rockabilly": "rock", "punk": "rock"}
_GENRE_MAP = {"jazz": "jazz", "pop": "pop", "rock": "rock", "folk, world, & country": "folk", "latin": "latin",
              "blues": "blues", "classical": "classical", "stage & screen": "pop", "funk / soul": "pop"}


def work_styles(db_path: Path) -> dict[str, str]:
    """Lead-sheet path (relative to the data set) -> our style, from the works' genres and styles."""
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        works = dict(con.execute("SELECT id, path_leadsheet FROM works").fetchall())
        genres: dict[int, list[tuple[int, str]]] = {}
        for wid, genre, occ in con.execute("SELECT id, genre, occurrences FROM work_genres"):
            genres.setdefault(wid, []).append((occ or 0, genre.lower()))
        styles: dict[int, list[str]] = {}
        for wid, style in con.execute("SELECT id, style FROM work_style"):
            styles.setdefault(wid, []).append(style.lower())
        con.close()
    except sqlite3.Error as exc:
        raise ReaderError(f"{db_path}: cannot read the OpenEWLD database ({exc})") from exc
    out = {}
    for wid, path in works.items():
        chosen = next((_STYLE_MAP[s] for s in styles.get(wid, []) if s in _STYLE_MAP), None)
        if chosen is None:
            for _, genre in sorted(genres.get(wid, []), reverse=True):
                if genre in _GENRE_MAP:
                    chosen = _GENRE_MAP[genre]
                    break
        if chosen:
            out[path] = chosen
    return out


@dataclass
class OpenEwldReader(ScoreFileReader):
    source: str = "openewld"
    style: str | None = "pop"  # works without genre data
    pattern: str = "*.mxl"
    _styles: dict[str, str] = field(default_factory=dict, repr=False)

    def read(self, item: str) -> list[LabelledPiece]:
        path = Path(item)
        root = next((p for p in path.parents if (p / "OpenEWLD.db").is_file()), None)
        if root is not None and not self._styles:
            self._styles.update(work_styles(root / "OpenEWLD.db"))
        rel = str(path.relative_to(root)) if root is not None else path.name
        style = self._styles.get(rel, self.style)
        return [LabelledPiece(piece, replace(labels, style=style)) for piece, labels in super().read(item)]
