"""One reader per data-set format, each turning files into Piece objects; see registry.py for which reads what."""

from engine.data.readers.base import Reader, ReaderError

__all__ = ["Reader", "ReaderError"]
