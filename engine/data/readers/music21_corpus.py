"""music21's bundled corpus: Bach chorales (classical), string-quartet movements (classical), the Essen
folk songs (folk), and O'Neill's 1850 / Ryan's Mammoth collections (celtic). Available wherever music21 is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.data.readers.score_files import ScoreFileReader, expand_abc_items


@dataclass
class Music21CorpusReader(ScoreFileReader):
    """Files of one music21 corpus composer/collection (`collection`), ignoring the root folder."""

    version = 2  # 2: old-notation meters (4/2, 3/1, ...) read with halves as quarters
    collection: str = "bach"
    limit: int | None = None  # items (tunes or files) to take: the corpus parses slowly; docs/CORPUS.md lists the caps

    def items(self, root: Path | None = None) -> list[str]:
        """The collection's files (ABC files one item per tune), the first `limit` of them."""
        from music21 import corpus

        paths = sorted(str(p) for p in corpus.getComposer(self.collection) if Path(p).suffix.lower() in (".mxl", ".xml", ".abc", ".krn", ".musicxml"))
        items = expand_abc_items(paths)
        return items[: self.limit] if self.limit else items
