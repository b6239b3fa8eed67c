"""How values that SQLite has no type for are stored: latents, token arrays, JSON fields."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def encode_latent(latent: Sequence[float] | np.ndarray | None) -> bytes | None:
    """A latent vector as little-endian float32 bytes."""
    if latent is None:
        return None
    array = np.asarray(latent, dtype="<f4")
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"A latent must be a non-empty 1-D vector, not shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("A latent must not contain NaN or infinity")
    return array.tobytes()


def decode_latent(blob: bytes | None) -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def encode_tokens(tokens: Mapping[str, np.ndarray] | None) -> bytes | None:
    """Named token arrays (melody, bass, chords, drums...) as one compressed .npz blob."""
    if tokens is None:
        return None
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: np.asarray(array) for name, array in tokens.items()})  # type: ignore[arg-type]  # numpy stubs mistype **arrays
    return buffer.getvalue()


def decode_tokens(blob: bytes | None) -> dict[str, np.ndarray] | None:
    if blob is None:
        return None
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def encode_features(features: Mapping[str, float] | None) -> str:
    """Musical features as a JSON object of finite numbers."""
    clean: dict[str, float] = {}
    for name, value in (features or {}).items():
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"Feature {name!r} must be a finite number, not {value!r}")
        clean[str(name)] = number
    return json.dumps(clean, sort_keys=True)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)
