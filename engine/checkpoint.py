"""Inference checkpoints: config + weights + version string + training metrics in one torch file.

Weights are stored as float16 (half the size; inference runs in float32 after loading). The version
string names the config, the training date and a hash of the weights, e.g. "base-2026-11-26-3f9a1c2e".
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.model import ComposerModel
from engine.model_config import ModelConfig

CHECKPOINT_FORMAT = 1
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SHIPPED_CHECKPOINT = CHECKPOINT_DIR / "base.pt"


@dataclass(frozen=True)
class CorpusStats:
    """What a checkpoint knows of its training corpus, read at generation (engine.train.corpus_stats writes it).

    track_rates: the share of training segments with each optional track ("bass", "drums"); a track at 0 is
        one the model never learned, so it is not sampled. mood_by_style: style -> {"valence": [mean, std],
        "arousal": [mean, std]}. tempo_by_style: style -> [10th, 90th percentile tempo].
    """

    track_rates: dict[str, float] = field(default_factory=dict)
    mood_by_style: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    tempo_by_style: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict | None) -> "CorpusStats | None":
        """As stored in a checkpoint; None for a checkpoint without statistics."""
        if not data:
            return None
        return cls(dict(data.get("track_rates", {})), dict(data.get("mood_by_style", {})), dict(data.get("tempo_by_style", {})))

    def as_dict(self) -> dict:
        return {"track_rates": self.track_rates, "mood_by_style": self.mood_by_style, "tempo_by_style": self.tempo_by_style}


@dataclass
class LoadedCheckpoint:
    model: ComposerModel
    config: ModelConfig
    styles: list[str]  # the model's style vocabulary (condition indices)
    version: str
    metrics: dict = field(default_factory=dict)
    stats: CorpusStats | None = None  # None: an older checkpoint without corpus statistics


def weights_hash(state: dict[str, torch.Tensor], stats: CorpusStats | None = None) -> str:
    """A short hash of everything that decides what a checkpoint generates: the weights and, when given,
    the corpus statistics the generator reads (they steer the model's condition)."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    if stats is not None:
        h.update(json.dumps(stats.as_dict(), sort_keys=True).encode())
    return h.hexdigest()[:8]


def make_version(config_name: str, state: dict[str, torch.Tensor], date: _dt.date | None = None, stats: CorpusStats | None = None) -> str:
    date = date or _dt.datetime.now(_dt.timezone.utc).date()
    return f"{config_name}-{date.isoformat()}-{weights_hash(state, stats)}"


def save_checkpoint(path: str | Path, model: ComposerModel, styles: list[str], metrics: dict | None = None, stats: CorpusStats | None = None) -> str:
    """Write an inference checkpoint; returns its version string."""
    state = {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()) for k, v in model.state_dict().items()}
    version = make_version(model.cfg.name, state, stats=stats)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": version,
        "config": model.cfg.to_dict(),
        "styles": list(styles),
        "state_dict": state,
        "metrics": metrics or {},
        "stats": stats.as_dict() if stats is not None else {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return version


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (damaged, truncated, of another format); the message names the file."""


def load_checkpoint(path: str | Path | None = None, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    """Load an inference checkpoint. Raises FileNotFoundError when there is none, CheckpointError when the file
    is damaged or not a Tunesmith checkpoint (the message names the file, and its version when it can be read)."""
    path = Path(path) if path is not None else SHIPPED_CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"No model checkpoint at {path}; train one with `tunesmith train --config base`.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports a damaged zip, a truncated pickle and others each in its own way
        reason = str(exc).split(". ")[0]  # torch's first sentence says what broke; the rest is advice
        raise CheckpointError(f"The model checkpoint {path} is damaged or unreadable ({reason})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: checkpoint format {found} is not {CHECKPOINT_FORMAT}")
    version = payload.get("version", "unknown")
    try:
        config = ModelConfig.from_dict(payload["config"])
        model = ComposerModel(config, n_styles=len(payload["styles"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"The model checkpoint {path} (version {version}) does not fit the model: {exc}") from exc
    model.to(device).eval()
    return LoadedCheckpoint(model, config, payload["styles"], version, payload.get("metrics", {}),
                            CorpusStats.from_dict(payload.get("stats")))
