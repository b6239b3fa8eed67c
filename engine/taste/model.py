"""A server's taste model: a latent critic and a latent actor (see engine.taste), saved as one small torch file.

    taste = TasteModel.load(path)
    z_steered = taste.steer(z, taste.condition_features(["jazz"], ["calm"]))   # [B, D] -> [B, D]

`steer_latents` is what the Composer's hook calls: it groups a batch's rows by taste file, loads each file
once (cached by path and modification time) and leaves rows without a taste, or with a taste trained on
another base model's latent space, as they are.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from engine.labels import MOODS, STYLES

log = logging.getLogger(__name__)

TASTE_FORMAT = "tunesmith-taste/1"
CONDITION_DIM = len(STYLES) + 2  # style one-hot (the user-facing styles), valence, arousal
HIDDEN = 64
SCORE_SPAN = 2.0  # the critic's output is bounded to the rating scale's reach around its mean (1..5 around 3)
MAX_STEP = 1.0  # the most the actor may move one latent coordinate, in that coordinate's standard deviations


class TasteError(ValueError):
    """A taste model file that cannot be used; the message says why."""


def condition_features(styles: Sequence[str], moods: Sequence[str]) -> np.ndarray:
    """[B, CONDITION_DIM] float32: what was asked for each row (style one-hot, the mood's valence and arousal)."""
    out = np.zeros((len(styles), CONDITION_DIM), np.float32)
    for i, (style, mood) in enumerate(zip(styles, moods)):
        if style in STYLES:
            out[i, STYLES.index(style)] = 1.0
        m = MOODS.get(mood)
        if m is not None:
            out[i, -2:] = (m.valence, m.arousal)
    return out


def _mlp(inputs: int, outputs: int, hidden: int = HIDDEN) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, outputs))


class LatentCritic(nn.Module):
    """Predicts a track's (centred) server rating from its standardised theme latent and its condition."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = _mlp(latent_dim + CONDITION_DIM, 1)

    def forward(self, z_std: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # Bounded: an actor cannot earn more by pushing latents where the critic extrapolates without limit.
        return SCORE_SPAN * torch.tanh(self.net(torch.cat([z_std, cond], -1)).squeeze(-1) / SCORE_SPAN)


class LatentActor(nn.Module):
    """Moves a standardised latent by at most MAX_STEP standard deviations per coordinate."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = _mlp(latent_dim + CONDITION_DIM, latent_dim)
        nn.init.zeros_(self.net[-1].weight)  # starts as the identity: no steering before training
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, z_std: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return z_std + MAX_STEP * torch.tanh(self.net(torch.cat([z_std, cond], -1)))


@dataclass
class TasteModel:
    critic: LatentCritic
    actor: LatentActor
    latent_mean: torch.Tensor  # [D]: statistics of the base GAN's latents, for standardising
    latent_std: torch.Tensor  # [D]
    base_version: str  # the shared model whose latent space this was trained in
    score_mean: float  # the (capped-weight) mean rating the critic's output is centred on
    metrics: dict[str, Any] = field(default_factory=dict)
    guild_id: int | None = None

    @property
    def latent_dim(self) -> int:
        return int(self.latent_mean.numel())

    condition_features = staticmethod(condition_features)

    def standardise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.latent_mean.to(z.device)) / self.latent_std.to(z.device)

    def unstandardise(self, z_std: torch.Tensor) -> torch.Tensor:
        return z_std * self.latent_std.to(z_std.device) + self.latent_mean.to(z_std.device)

    @torch.no_grad()
    def steer(self, z: torch.Tensor, cond: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Latents moved toward what the server likes; deterministic (same z and condition, same result)."""
        c = torch.as_tensor(cond, dtype=torch.float32, device=z.device)
        self.actor.to(z.device).eval()
        return self.unstandardise(self.actor(self.standardise(z.float()), c)).to(z.dtype)

    @torch.no_grad()
    def predict(self, z: torch.Tensor, cond: np.ndarray | torch.Tensor) -> torch.Tensor:
        """The critic's predicted rating (1..5 scale) of latents z."""
        c = torch.as_tensor(cond, dtype=torch.float32, device=z.device)
        self.critic.to(z.device).eval()
        return self.critic(self.standardise(z.float()), c) + self.score_mean

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": TASTE_FORMAT, "latent_dim": self.latent_dim, "base_version": self.base_version, "score_mean": float(self.score_mean),
            "guild_id": self.guild_id, "styles": list(STYLES), "metrics": self.metrics,
            "critic": self.critic.state_dict(), "actor": self.actor.state_dict(),
            "latent_mean": self.latent_mean.cpu(), "latent_std": self.latent_std.cpu(),
        }  # fmt: skip
        partial = path.with_name(path.name + ".partial")
        torch.save(payload, partial)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> "TasteModel":
        path = Path(path)
        if not path.exists():
            raise TasteError(f"No taste model at {path}.")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say so, do not crash the caller
            raise TasteError(f"{path} is not a readable taste model: {exc}") from None
        if not isinstance(payload, dict) or payload.get("format") != TASTE_FORMAT:
            raise TasteError(f"{path} is not a taste model of format {TASTE_FORMAT}.")
        if list(payload["styles"]) != list(STYLES):
            raise TasteError(f"{path} was trained for other styles ({payload['styles']}).")
        dim = int(payload["latent_dim"])
        critic, actor = LatentCritic(dim), LatentActor(dim)
        critic.load_state_dict(payload["critic"])
        actor.load_state_dict(payload["actor"])
        return cls(critic.eval(), actor.eval(), payload["latent_mean"].float(), payload["latent_std"].float(), str(payload["base_version"]),
                   float(payload["score_mean"]), dict(payload.get("metrics", {})), payload.get("guild_id"))


# --- the Composer's hook --------------------------------------------------------------------------------

_CACHE: OrderedDict[tuple[str, int], TasteModel] = OrderedDict()
_CACHE_SIZE = 64  # taste models are about 100 KB each
_warned: set[tuple[str, str]] = set()


def cached(path: str) -> TasteModel:
    """The taste model at `path`, loaded once per modification (a rollback swaps files by path, not in place)."""
    key = (str(path), Path(path).stat().st_mtime_ns)
    model = _CACHE.get(key)
    if model is None:
        model = _CACHE[key] = TasteModel.load(Path(path))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return model


def steer_latents(tastes: Sequence[str | None], styles: Sequence[str], moods: Sequence[str], latents: torch.Tensor, model_version: str) -> torch.Tensor:
    """Each row of `latents` moved by its taste model (rows with None stay). A taste that cannot be used (file
    gone, another base model) leaves its rows as the shared model wrote them, logged once: composing never
    fails because a server's taste did."""
    out = latents.clone()
    for path in dict.fromkeys(t for t in tastes if t):
        rows = [i for i, t in enumerate(tastes) if t == path]
        try:
            taste = cached(path)
        except (OSError, TasteError) as exc:
            _warn_once(path, f"taste model not used: {exc}")
            continue
        if taste.base_version != model_version:
            _warn_once(path, f"taste model trained on {taste.base_version}, serving {model_version}: not used")
            continue
        if taste.latent_dim != latents.shape[-1]:
            _warn_once(path, "taste model latent size differs from the serving model's: not used")
            continue
        index = torch.tensor(rows, device=latents.device)
        cond = condition_features([styles[i] for i in rows], [moods[i] for i in rows])
        out[index] = taste.steer(latents[index], cond)
    return out


def _warn_once(path: str, message: str) -> None:
    if (path, message) not in _warned:
        _warned.add((path, message))
        log.warning("%s (%s)", message, path)


__all__ = ["CONDITION_DIM", "LatentActor", "LatentCritic", "TasteError", "TasteModel", "cached", "condition_features", "steer_latents"]
