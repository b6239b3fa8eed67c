"""A damaged checkpoint file is a clear error naming the file, never a bare torch exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.checkpoint import SHIPPED_CHECKPOINT, CheckpointError, load_checkpoint


def test_a_truncated_checkpoint_names_its_file(tmp_path: Path) -> None:
    broken = tmp_path / "model.pt"
    broken.write_bytes(SHIPPED_CHECKPOINT.read_bytes()[:4096])
    with pytest.raises(CheckpointError, match=f"The model checkpoint {broken} is damaged or unreadable"):
        load_checkpoint(broken)


def test_a_file_that_is_no_checkpoint_names_its_file(tmp_path: Path) -> None:
    import torch

    other = tmp_path / "weights.pt"
    torch.save({"format": 99}, other)
    with pytest.raises(CheckpointError, match=f"{other}: checkpoint format 99 is not 1"):
        load_checkpoint(other)


def test_a_missing_checkpoint_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tunesmith train"):
        load_checkpoint(tmp_path / "none.pt")
