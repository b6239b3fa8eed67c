"""The content-addressed file store for rendered audio, MIDI and pictures.

A file is named by the SHA-256 of its bytes, fanned out by the first two hex digits
(`ab/abcdef....mp3`), so identical renders are stored once and a name never points at other content.
Files are written to a temporary name and renamed into place, so a reader never sees half a file.
The database stores the relative path that `put` returns.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_RELATIVE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,8}$")


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, suffix: str) -> str:
        """Store `data` and return its path relative to the store, e.g. "3f/3fa9....mp3"."""
        suffix = suffix.lower() if suffix.startswith(".") else "." + suffix.lower()
        if not _SUFFIX.match(suffix):
            raise ValueError(f"Not a file suffix: {suffix!r}")
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}{suffix}"
        target = self.root / relative
        if target.exists():
            # A new track reuses these bytes: the file counts as just written, so the retention sweep
            # (storage.retention), which deletes only old unreferenced files, cannot take it before the track row names it.
            try:
                os.utime(target)
                return relative
            except FileNotFoundError:
                pass  # deleted meanwhile: write it again
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return relative

    def put_file(self, source: Path, suffix: str | None = None) -> str:
        """Store a file's contents (a render written to a scratch folder, say); the suffix defaults to the file's."""
        source = Path(source)
        return self.put(source.read_bytes(), suffix or source.suffix)

    def path_for(self, relative: str) -> Path:
        """The absolute path of a stored file. Rejects anything that is not a path `put` could have returned."""
        if not _RELATIVE.match(relative):
            raise ValueError(f"Not a media-store path: {relative!r}")
        return self.root / relative

    def exists(self, relative: str) -> bool:
        return self.path_for(relative).is_file()

    def read(self, relative: str) -> bytes:
        path = self.path_for(relative)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"The media file {relative} is missing from {self.root}") from None

    def remove(self, relative: str) -> bool:
        """Delete a stored file; False if it was not there. Callers make sure no track still refers to it."""
        try:
            self.path_for(relative).unlink()
        except FileNotFoundError:
            return False
        return True


__all__ = ["MediaStore"]
