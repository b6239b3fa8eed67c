"""Builders for test records."""

from __future__ import annotations

import numpy as np

from storage import NewTrack


def new_track(user_id: int | None = 1001, guild_id: int | None = 500, **overrides) -> NewTrack:
    """A plausible generated track; override any field."""
    fields = dict(
        guild_id=guild_id,
        channel_id=600,
        user_id=user_id,
        style="jazz",
        mood="calm",
        key="Eb",
        tempo=96.0,
        bars=8,
        seed=1234,
        sampler="gan",
        model_version="v1",
        prompt="late night",
        latent=np.linspace(-1, 1, 16, dtype=np.float32),
        features={"density": 0.4, "pitch_range": 19.0, "valence": 0.5, "arousal": -0.7},
        tokens={"melody": np.arange(128, dtype=np.int16), "chords": np.arange(32, dtype=np.int16)},
    )
    fields.update(overrides)
    return NewTrack(**fields)
