"""What every reader shares: the error type and the Reader interface the corpus build drives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from engine.data.labelled import LabelledPiece


class ReaderError(ValueError):
    """Malformed or unusable input; the message names the file and what is wrong with it."""


class Reader(ABC):
    """Reads one data-set format. `items` lists work units (usually files) under a root folder, cheaply;
    `read` turns one item into pieces, each with the labels the data set gives it (engine.data.labelled).
    Readers are plain picklable objects so two worker processes can share the work."""

    #: the data set's name in manifests (e.g. "wjd-solos")
    source: str = ""
    #: bump when the reader's output changes, so builds re-read files cached by an older version
    version = 1

    @abstractmethod
    def items(self, root: Path) -> list[str]:
        """Work units under `root`, sorted so builds are reproducible."""

    @abstractmethod
    def read(self, item: str) -> list[LabelledPiece]:
        """The pieces in one work unit with their labels; raises ReaderError for malformed input."""


def wrap_errors(item: str, exc: Exception) -> ReaderError:
    """A ReaderError naming the item for any exception a parser raised."""
    if isinstance(exc, ReaderError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ReaderError(f"{item}: {type(exc).__name__}: {text}"[:300])
