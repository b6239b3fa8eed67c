"""Score files music21 parses: MusicXML (`.xml`, `.musicxml`), compressed MusicXML (`.mxl`), ABC
(one file may hold many tunes) and Humdrum `**kern` (`.krn`, `.hum`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.data.labelled import Labels, LabelledPiece
from engine.data.m21 import ScoreConversionError, score_to_piece
from engine.data.readers.base import Reader, ReaderError, wrap_errors

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


TUNE_SEPARATOR = "::"


def abc_tunes(text: str) -> tuple[str, list[str]]:
    """An ABC file's header (lines before the first tune) and its tunes, each starting at an 'X:' line.

    music21 parses a many-tune ABC file much more slowly than its tunes one by one, and one broken
    tune would lose the whole file, so the readers split files into tunes first.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("X:")]
    if not starts:
        return "", [text]
    header = "\n".join(line for line in lines[: starts[0]] if not line.startswith("%"))
    bounds = starts + [len(lines)]
    return header, ["\n".join(lines[a:b]) for a, b in zip(bounds, bounds[1:])]


def parse_abc_tune(path: Path, index: int):
    """music21's parse of tune `index` (0-based) of an ABC file."""
    from music21 import converter

    try:
        header, tunes = abc_tunes(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise ReaderError(f"{path}: unreadable ({exc})") from exc
    if not 0 <= index < len(tunes):
        raise ReaderError(f"{path}: has {len(tunes)} tunes, no tune {index + 1}")
    try:
        return converter.parseData((header + "\n" + tunes[index]).strip() + "\n", format="abc")
    except Exception as exc:
        raise ReaderError(f"{path} tune {index + 1}: music21 cannot parse it as abc ({type(exc).__name__}: {str(exc)[:200]})") from exc


def expand_abc_items(paths: list[str]) -> list[str]:
    """Work items with one item per tune for ABC files ('file.abc::3'), one per file otherwise."""
    items = []
    for p in paths:
        if p.lower().endswith(".abc"):
            try:
                _, tunes = abc_tunes(Path(p).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                items.append(p)  # read() reports the error
                continue
            items.extend(f"{p}{TUNE_SEPARATOR}{i}" for i in range(len(tunes)))
        else:
            items.append(p)
    return items


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

    version = 2  # 2: old-notation meters, any n/4 and n/8 meter kept in the representation

    style: str | None = None
    source: str = "scores"
    pattern: str = "*"
    default_tempo: float = 100.0
    styles_by_name: dict[str, str] = field(default_factory=dict)  # file-name stem -> style, from metadata

    def items(self, root: Path) -> list[str]:
        """Score files under `root`; ABC files count one item per tune."""
        return expand_abc_items(sorted(str(p) for p in Path(root).rglob(self.pattern) if p.suffix.lower() in SCORE_SUFFIXES and p.is_file()))

    def read(self, item: str) -> list[LabelledPiece]:
        file_part, sep, tune = item.partition(TUNE_SEPARATOR)
        path = Path(file_part)
        if sep:
            if not tune.isdigit():
                raise ReaderError(f"{item}: the tune number after '{TUNE_SEPARATOR}' must be a number")
            parsed = parse_abc_tune(path, int(tune))
        else:
            parsed = parse_score_file(path)
        pieces, errors = [], []
        scores = scores_in(parsed)
        style = self.styles_by_name.get(path.stem, self.style)
        base = path.parent.name if path.stem in ("c", "score") else path.stem
        for i, score in enumerate(scores):
            number = int(tune) + 1 if sep else i + 1
            name = base if len(scores) == 1 and not sep else f"{base}#{number}:{_title(score, '')}"
            try:
                piece = score_to_piece(score, name=name, source=self.source, default_tempo=self.default_tempo)
                pieces.append(LabelledPiece(piece, Labels(style=style)))
            except (ScoreConversionError, Exception) as exc:  # one bad tune must not lose the others
                errors.append(wrap_errors(name, exc))
        if not pieces and errors:
            raise errors[0]
        return pieces
