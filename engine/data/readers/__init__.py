"""One reader per data-set format, each turning files into labelled pieces (engine.data.labelled); see registry.py for which reads what."""

from engine.data.readers.base import Reader, ReaderError

__all__ = ["Reader", "ReaderError"]
