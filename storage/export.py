"""Ratings joined with the rated tracks' latents, token arrays and parameters: the data set for fine-tuning.

Usage, from async code::

    data = await export_ratings(storage.db, guild_id=None)
    data.latents[data.has_latent], data.scores[data.has_latent]  # e.g. to train a preference head
    data.save(path)  # one .npz, no pickles
    remove_user_from_exports(folder, user_id)  # /forget-me: drop someone's rows from every export on disk
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from storage import codec
from storage.database import Database


@dataclass(frozen=True)
class RatedTrack:
    """One rating with everything needed to reproduce or learn from the rated track."""

    user_id: int
    track_id: int
    score: int
    style: str
    mood: str
    key: str
    tempo: float
    bars: int
    seed: int
    sampler: str
    model_version: str
    features: dict[str, float]
    latent: np.ndarray | None = field(compare=False)
    tokens: dict[str, np.ndarray] | None = field(compare=False, repr=False)


@dataclass(frozen=True)
class RatingExport:
    """The export as aligned arrays, one row per rating (row i of every array is rating i)."""

    records: list[RatedTrack]
    user_ids: np.ndarray  # int64 [N]
    track_ids: np.ndarray  # int64 [N]
    scores: np.ndarray  # float32 [N], 1..5
    latents: np.ndarray  # float32 [N, D]; zeros where the track has no latent
    has_latent: np.ndarray  # bool [N]
    styles: list[str]
    moods: list[str]

    def __len__(self) -> int:
        return len(self.records)

    def track_means(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(track ids, mean score, number of ratings) per rated track, for weighting whole tracks."""
        ids, inverse, counts = np.unique(self.track_ids, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=self.scores, minlength=len(ids))
        return ids, (sums / counts).astype(np.float32), counts

    def save(self, path: Path) -> None:
        """Write one .npz: the arrays, parameters as arrays, and each token stream as a ragged array
        (`tokens/<name>` concatenated along the first axis, split by `tokens/<name>/offsets`)."""
        arrays: dict[str, np.ndarray] = {
            "user_ids": self.user_ids,
            "track_ids": self.track_ids,
            "scores": self.scores,
            "latents": self.latents,
            "has_latent": self.has_latent,
            "styles": np.array(self.styles, dtype=str),
            "moods": np.array(self.moods, dtype=str),
            "keys": np.array([r.key for r in self.records], dtype=str),
            "tempos": np.array([r.tempo for r in self.records], dtype=np.float32),
            "bars": np.array([r.bars for r in self.records], dtype=np.int32),
            "seeds": np.array([r.seed for r in self.records], dtype=np.int64),
            "model_versions": np.array([r.model_version for r in self.records], dtype=str),
        }
        arrays.update(_ragged_tokens(self.records))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy stubs mistype **arrays


def _ragged_tokens(records: list[RatedTrack]) -> dict[str, np.ndarray]:
    names = sorted({name for r in records if r.tokens for name in r.tokens})
    out: dict[str, np.ndarray] = {}
    for name in names:
        pieces = [np.asarray(r.tokens[name]) if r.tokens and name in r.tokens else None for r in records]
        present = [p for p in pieces if p is not None]
        trailing = present[0].shape[1:]
        if any(p.shape[1:] != trailing for p in present):
            raise ValueError(f"Token stream {name!r} has rows of different shapes across tracks; cannot export it as one array")
        lengths = [0 if p is None else len(p) for p in pieces]
        out[f"tokens/{name}"] = np.concatenate(present, axis=0)
        out[f"tokens/{name}/offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return out


def load_tokens(archive: Mapping[str, np.ndarray], name: str, row: int) -> np.ndarray:
    """Row `row`'s token stream `name` from an archive written by `RatingExport.save` (empty when absent)."""
    offsets = archive[f"tokens/{name}/offsets"]
    return archive[f"tokens/{name}"][offsets[row] : offsets[row + 1]]


@dataclass(frozen=True)
class ExportScrub:
    """What forgetting a user removed from rating exports on disk."""

    files_changed: int
    rows_removed: int


def remove_user_from_export(path: Path, user_id: int) -> int:
    """Rewrite one export written by `RatingExport.save` without `user_id`'s rows; returns how many went.

    The new file replaces the old one atomically (written beside it, then renamed), so a reader sees
    either the old export or the new one, never half of each."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        archive = {name: data[name] for name in data.files}
    if "user_ids" not in archive:
        return 0
    keep = archive["user_ids"] != user_id
    removed = int((~keep).sum())
    if removed == 0:
        return 0
    rows = len(keep)
    out: dict[str, np.ndarray] = {}
    for name, array in archive.items():
        if name.startswith("tokens/"):
            continue
        out[name] = array[keep] if array.ndim >= 1 and len(array) == rows else array
    for name in {n for n in archive if n.startswith("tokens/") and not n.endswith("/offsets")}:
        offsets = archive[f"{name}/offsets"]
        pieces = [archive[name][offsets[i] : offsets[i + 1]] for i in np.flatnonzero(keep)]
        lengths = [len(piece) for piece in pieces]
        out[name] = np.concatenate(pieces, axis=0) if pieces else archive[name][:0]
        out[f"{name}/offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **out)  # type: ignore[arg-type]  # numpy stubs mistype **arrays
    os.replace(partial, path)
    return removed


def remove_user_from_exports(folder: Path, user_id: int) -> ExportScrub:
    """Remove `user_id`'s rows from every rating export under `folder` (e.g. each retrain's ratings.npz)."""
    files = rows = 0
    folder = Path(folder)
    if not folder.is_dir():
        return ExportScrub(0, 0)
    for path in sorted(folder.rglob("*.npz")):
        if path.name.endswith(".partial.npz") or not _is_rating_export(path):
            continue
        removed = remove_user_from_export(path, user_id)
        files += removed > 0
        rows += removed
    return ExportScrub(files, rows)


def _is_rating_export(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {"user_ids", "track_ids", "scores"} <= set(data.files)
    except (OSError, ValueError):
        return False  # not an .npz archive numpy can read: not ours


async def export_ratings(db: Database, *, guild_id: int | None = None, model_version: str | None = None) -> RatingExport:
    """Every rating (optionally of one server's tracks or one model version's) joined with its track."""
    conditions: list[str] = []
    params: list[Any] = []
    if guild_id is not None:
        conditions.append("t.guild_id = ?")
        params.append(guild_id)
    if model_version is not None:
        conditions.append("t.model_version = ?")
        params.append(model_version)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = await db.fetchall(
        f"""
        SELECT r.user_id, r.track_id, r.score, t.style, t.mood, t.key, t.tempo, t.bars, t.seed, t.sampler,
               t.model_version, t.features, t.latent, t.tokens
        FROM ratings r JOIN tracks t ON t.id = r.track_id {where}
        ORDER BY r.track_id, r.user_id
        """,
        params,
    )
    records = [
        RatedTrack(
            user_id=row["user_id"],
            track_id=row["track_id"],
            score=row["score"],
            style=row["style"],
            mood=row["mood"],
            key=row["key"],
            tempo=row["tempo"],
            bars=row["bars"],
            seed=row["seed"],
            sampler=row["sampler"],
            model_version=row["model_version"],
            features=codec.loads(row["features"], {}),
            latent=codec.decode_latent(row["latent"]),
            tokens=codec.decode_tokens(row["tokens"]),
        )
        for row in rows
    ]
    return _as_arrays(records)


def _as_arrays(records: list[RatedTrack]) -> RatingExport:
    sizes = {r.latent.size for r in records if r.latent is not None}
    if len(sizes) > 1:
        raise ValueError(f"Rated tracks have latents of different sizes {sorted(sizes)}; export one model version at a time")
    dim = sizes.pop() if sizes else 0
    latents = np.zeros((len(records), dim), dtype=np.float32)
    has_latent = np.zeros(len(records), dtype=bool)
    for i, record in enumerate(records):
        if record.latent is not None:
            latents[i], has_latent[i] = record.latent, True
    return RatingExport(
        records=records,
        user_ids=np.array([r.user_id for r in records], dtype=np.int64),
        track_ids=np.array([r.track_id for r in records], dtype=np.int64),
        scores=np.array([r.score for r in records], dtype=np.float32),
        latents=latents,
        has_latent=has_latent,
        styles=[r.style for r in records],
        moods=[r.mood for r in records],
    )


__all__ = ["RatedTrack", "RatingExport", "ExportScrub", "export_ratings", "load_tokens", "remove_user_from_export", "remove_user_from_exports"]
