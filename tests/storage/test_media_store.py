from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage import MediaStore


def test_round_trip_is_content_addressed(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    data = b"ID3 fake mp3 bytes"
    relative = store.put(data, ".mp3")
    digest = hashlib.sha256(data).hexdigest()
    assert relative == f"{digest[:2]}/{digest}.mp3"
    assert store.read(relative) == data
    assert store.path_for(relative) == tmp_path / relative
    assert store.put(data, "MP3") == relative  # same bytes, same file
    assert store.put(b"other", ".mp3") != relative
    assert not list(tmp_path.rglob(".incoming-*"))  # no temporary file left behind


def test_put_file_and_remove(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    source = tmp_path / "render.mid"
    source.write_bytes(b"MThd")
    relative = store.put_file(source)
    assert relative.endswith(".mid") and store.exists(relative)
    assert store.remove(relative) is True and store.remove(relative) is False
    with pytest.raises(FileNotFoundError, match="missing"):
        store.read(relative)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab/short.mp3", "/abs/path", ""])
def test_paths_that_put_cannot_return_are_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="Not a media-store path"):
        MediaStore(tmp_path).path_for(bad)


def test_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suffix"):
        MediaStore(tmp_path).put(b"x", ".../x")
