"""What the model wrote, as one torch-free record that the bot, the service and the model process share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.music import Piece
from engine.plan.plan import MusicalPlan
from engine.request import ComposeRequest


@dataclass
class Composition:
    """A composed piece, the plan it answers, its embedding and the model that wrote it.

    `latent` is the VAE latent of the piece's theme (its first 8 bars), the embedding that variations,
    restyles and recommendations start from.
    """

    piece: Piece
    plan: MusicalPlan
    latent: np.ndarray
    model_version: str

    @property
    def request(self) -> ComposeRequest:
        """The resolved request (every choice filled): replaying it writes the same piece."""
        return self.plan.request


__all__ = ["Composition"]
