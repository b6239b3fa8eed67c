"""Which reader reads which data set, the default style of each, and the caps the default build uses.

Folders are relative to the shared data directory (`Settings.shared_data_dir`); the music21 corpus
sources need no folder. Caps keep the full build to minutes on two cores (music21 parsing is slow);
docs/CORPUS.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.data.readers.base import Reader
from engine.data.readers.cocopops import CocopopsReader
from engine.data.readers.emopia import EmopiaReader
from engine.data.readers.folder import FolderReader
from engine.data.readers.groove import GrooveReader
from engine.data.readers.improvisor import ImprovisorReader
from engine.data.readers.music21_corpus import Music21CorpusReader
from engine.data.readers.openewld import OpenEwldReader
from engine.data.readers.pop909 import Pop909Reader
from engine.data.readers.score_files import ScoreFileReader
from engine.data.readers.vgmidi import VgmidiReader
from engine.data.readers.wjd import WjdReader


@dataclass
class Source:
    """One data source of a build: a reader over a root folder (None for music21's corpus)."""

    name: str
    reader: Reader
    root: Path | None
    style: str  # default style (readers may refine it from metadata)
    limit: int | None = None  # work items taken, None = all
    note: str = ""

    def items(self) -> list[str]:
        items = self.reader.items(self.root) if self.root is not None else self.reader.items(None)  # type: ignore[arg-type]
        return items[: self.limit] if self.limit else items


def shared_sources(shared_dir: Path) -> list[Source]:
    """The data sets of ../shared/data that are present under `shared_dir`."""
    candidates = [
        Source("wjd-solos", WjdReader(), shared_dir / "wjd-solos", "jazz", note="style blues when the tune title says blues"),
        Source("chord-melody", ScoreFileReader(style="jazz", source="chord-melody", pattern="c.xml"), shared_dir / "chord-melody", "jazz"),
        Source("impro-visor", ImprovisorReader(), shared_dir / "impro-visor", "jazz",
               note="style from each sheet's Impro-Visor style (latin, bossa, shuffle, rock...); imaginary-book chord charts skipped (no melody)"),
        Source("openewld", OpenEwldReader(), shared_dir / "openewld", "pop", note="style from the database's genres/styles"),
        Source("pop909", Pop909Reader(), shared_dir / "pop909", "pop"),
        Source("cocopops", CocopopsReader(), shared_dir / "cocopops", "rock", note="Rolling Stone 200 = rock, Billboard = pop"),
        Source("nottingham", ScoreFileReader(style="folk", source="nottingham", pattern="*.abc"), shared_dir / "nottingham" / "ABC_cleaned", "folk"),
        Source("emopia", EmopiaReader(), shared_dir / "emopia", "pop", note="mood labels (quadrants)"),
        Source("vgmidi", VgmidiReader(), shared_dir / "vgmidi", "game", note="mood labels (valence/arousal signs)"),
    ]
    return [s for s in candidates if s.root is not None and s.root.exists()]


def drum_sources(shared_dir: Path) -> list[Source]:
    """Drums-only data sets (Groove MIDI). Not in the default build: the cache's segments need a melody."""
    root = shared_dir / "groove-midi"
    return [Source("groove-midi", GrooveReader(), root, "rock", note="drums only")] if root.is_dir() else []


def music21_sources() -> list[Source]:
    """music21's bundled corpus, always available."""
    return [
        Source("bach-chorales", Music21CorpusReader(style="classical", source="bach-chorales", collection="bach", default_tempo=80.0), None, "classical"),
        Source("essen", Music21CorpusReader(style="folk", source="essen", collection="essenFolksong", default_tempo=100.0), None, "folk", limit=1200,
               note="of 8,514 German folk songs (parse time)"),
        Source("oneills", Music21CorpusReader(style="celtic", source="oneills", collection="oneills1850", default_tempo=110.0), None, "celtic"),
        Source("ryans", Music21CorpusReader(style="celtic", source="ryans", collection="ryansMammoth", default_tempo=110.0), None, "celtic"),
    ]


def folder_source(folder: Path, style: str) -> Source:
    """A host's folder of MIDI/score files, all of one style."""
    name = f"host:{folder.name}"
    return Source(name, FolderReader(style=style, source=name), folder, style)


def default_sources(shared_dir: Path | None) -> list[Source]:
    sources = shared_sources(shared_dir) if shared_dir is not None and shared_dir.is_dir() else []
    return sources + music21_sources()
