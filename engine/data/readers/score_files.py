"""Score files music21 parses: MusicXML (`.xml`, `.musicxml`), compressed MusicXML (`.mxl`), ABC
(one file may hold many tunes) and Humdrum `**kern` (`.krn`, `.hum`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.data.m21 import ScoreConversionError, score_to_piece
from engine.data.readers.base import Reader, ReaderError, wrap_errors
from engine.music import Piece

SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".abc", ".krn", ".hum")
_FORMATS = {".xml": "musicxml", ".musicxml": "musicxml", ".mxl": "musicxml", ".abc": "abc", ".krn": "humdrum", ".hum": "humdrum"}


def parse_score_file(path: Path):
    """music21's parse of a score file (a Score or an Opus of scores); ReaderError when it fails."""
    from music21 import converter

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReaderError(f"{path}: not a score file ({', '.join(SCORE_SUFFIXES)})")
    if not path.is_file():
        raise ReaderError(f"{path}: no such file")
    try:
        return converter.parse(str(path), format=fmt, forceSource=True)
    except Exception as exc:  # music21 raises many exception types on malformed input
        raise ReaderError(f"{path}: music21 cannot parse it as {fmt} ({type(exc).__name__}: {str(exc)[:200]})") from exc


def scores_in(parsed) -> list:
    """The scores inside a parse result (an Opus holds several)."""
    from music21 import stream

    if isinstance(parsed, stream.Opus):
        return list(parsed.scores)
    return [parsed]


def _title(score, fallback: str) -> str:
    md = getattr(score, "metadata", None)
    title = (md.title if md is not None else None) or fallback
    return str(title)


@dataclass
class ScoreFileReader(Reader):
    """Every score file under a folder (matching `pattern`), each tune a piece of `style`."""

    style: str | None = None
    source: str = "scores"
    pattern: str = "*"
    default_tempo: float = 100.0
    styles_by_name: dict[str, str] = field(default_factory=dict)  # file-name stem -> style, from metadata

    def items(self, root: Path) -> list[str]:
        return sorted(str(p) for p in Path(root).rglob(self.pattern) if p.suffix.lower() in SCORE_SUFFIXES and p.is_file())

    def read(self, item: str) -> list[Piece]:
        path = Path(item)
        parsed = parse_score_file(path)
        pieces, errors = [], []
        scores = scores_in(parsed)
        style = self.styles_by_name.get(path.stem, self.style)
        for i, score in enumerate(scores):
            base = path.parent.name if path.stem in ("c", "score") else path.stem
            name = base if len(scores) == 1 else f"{base}#{i + 1}:{_title(score, '')}"
            try:
                pieces.append(score_to_piece(score, name=name, source=self.source, style=style, default_tempo=self.default_tempo))
            except (ScoreConversionError, Exception) as exc:  # one bad tune must not lose the others
                errors.append(wrap_errors(name, exc))
        if not pieces and errors:
            raise errors[0]
        return pieces
