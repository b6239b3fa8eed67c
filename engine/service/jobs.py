"""What a caller asks the service to do (EngineJob) and what it gets back (TrackResult)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.composition import Composition
from engine.music import Piece
from engine.request import MAX_BARS, MIN_BARS, ComposeRequest, EngineInputError
from engine.labels import normalise_mood, normalise_style

if TYPE_CHECKING:  # engine.render is heavy; the bot process only needs the type
    from engine.render_timings import RenderTimings
    from engine.render import RenderedTrack


class JobKind(enum.Enum):
    COMPOSE = "compose"
    REGENERATE = "regenerate"
    VARIATION = "variation"
    RESTYLE = "restyle"
    REMOOD = "remood"
    EXTEND = "extend"
    CONTINUE = "continue"

    @property
    def batched(self) -> bool:
        """Fresh compositions share one batched model call; edits of an existing piece run one by one."""
        return self in (JobKind.COMPOSE, JobKind.REGENERATE)


@dataclass(frozen=True)
class EngineJob:
    """One unit of work for the engine. Build it with the class methods, which validate the user's input."""

    kind: JobKind
    request: ComposeRequest
    user_key: str = "anonymous"
    piece: Piece | bytes | None = None  # the piece being edited; continue also takes uploaded MIDI bytes
    parent: Composition | np.ndarray | None = None  # variation: the parent composition or its latent vector
    strength: float = 0.3  # variation: how far from the parent
    target: str | None = None  # restyle: the new style; remood: the new mood
    bars: int = 0  # extend / continue: how many bars to add

    @classmethod
    def compose(cls, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        return cls(JobKind.COMPOSE, request.validated(), user_key)

    @classmethod
    def regenerate(cls, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        """The same request with the same seed: the model reproduces the identical piece."""
        if request.seed is None:
            raise ValueError("regenerate needs the seed of the original piece; the request has none")
        return cls(JobKind.REGENERATE, request.validated(), user_key)

    @classmethod
    def variation(cls, parent: Composition | np.ndarray, request: ComposeRequest, strength: float = 0.3, user_key: str = "anonymous") -> "EngineJob":
        if not 0.0 <= strength <= 1.0:
            raise EngineInputError(f"Variation strength must be between 0 and 1, not {strength}.")
        return cls(JobKind.VARIATION, request.validated(), user_key, parent=parent, strength=strength)

    @classmethod
    def restyle(cls, piece: Piece, style: str, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        try:
            target = normalise_style(style)
        except ValueError as exc:
            raise EngineInputError(str(exc)) from None
        return cls(JobKind.RESTYLE, request.validated(), user_key, piece=piece, target=target)

    @classmethod
    def remood(cls, piece: Piece, mood: str, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        try:
            target = normalise_mood(mood)
        except ValueError as exc:
            raise EngineInputError(str(exc)) from None
        return cls(JobKind.REMOOD, request.validated(), user_key, piece=piece, target=target)

    @classmethod
    def extend(cls, piece: Piece, bars: int, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        """A track of ours made longer: the piece followed by `bars` new bars, at most MAX_BARS in all."""
        _check_added_bars(bars)
        if piece.bars + bars > MAX_BARS:
            raise EngineInputError(f"That would make the piece {piece.bars + bars} bars long; the most is {MAX_BARS}.")
        return cls(JobKind.EXTEND, request.validated(), user_key, piece=piece, bars=bars)

    @classmethod
    def continue_piece(cls, piece: Piece | bytes, bars: int, request: ComposeRequest, user_key: str = "anonymous") -> "EngineJob":
        """A user's fragment (a Piece, or the bytes of an uploaded MIDI file) followed by `bars` new bars.
        A fragment the model cannot read fails the job with EngineInputError."""
        _check_added_bars(bars)
        return cls(JobKind.CONTINUE, request.validated(), user_key, piece=piece, bars=bars)


def _check_added_bars(bars: int) -> None:
    if not MIN_BARS <= bars <= MAX_BARS:
        raise EngineInputError(f"Add between {MIN_BARS} and {MAX_BARS} bars, not {bars}.")


@dataclass
class JobTimings:
    """Where a job's time went, in seconds (None: the job did not get that far, or the stage did not run).

    queue: submit to leaving the queue; generate: the whole batch's model call; arrange, render, encode,
    picture: in the render worker; render_stage: handing to a worker and back (wall time); total: submit to
    result. batch_size: the number of jobs in its model batch.
    """

    queue: float | None = None
    generate: float | None = None
    batch_size: int | None = None
    arrange: float | None = None
    render: float | None = None
    encode: float | None = None
    picture: float | None = None
    render_stage: float | None = None
    total: float | None = None

    WORKER_STAGES = ("arrange", "render", "encode", "picture")

    def add_worker_stages(self, stages: "RenderTimings") -> None:
        """The render worker's own timings (RenderedTrack.timings: arrange, render, encode, picture)."""
        for stage, seconds in stages.as_dict().items():
            setattr(self, stage, seconds)

    def measured(self) -> dict[str, float]:
        """The timings that were measured, by name (for logs and tables)."""
        return {name: value for name, value in vars(self).items() if value is not None}


@dataclass(frozen=True)
class TrackFeatures:
    """Cheap descriptors of a track, stored with it for recommendations (storage keeps them by name)."""

    tempo: float
    density: float  # melody notes per bar
    pitch_mean: float
    pitch_range: float
    minor: float  # 1.0 in a minor key
    duration: float  # seconds of audio
    valence: float  # the plan's mood
    arousal: float

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in vars(self).items()}


@dataclass
class TrackResult:
    """A finished job: the model's composition, the rendered files and where the time went."""

    composition: Composition
    track: "RenderedTrack"
    timings: JobTimings = field(default_factory=JobTimings)

    def features(self) -> TrackFeatures:
        """The track's features for recommendations: from the piece, its plan's mood and the audio's length."""
        piece = self.composition.piece
        melody = piece.melody
        pitches = [n.pitch for n in melody] or [60]
        return TrackFeatures(
            tempo=float(piece.tempo),
            density=len(melody) / max(1, piece.bars),
            pitch_mean=float(sum(pitches) / len(pitches)),
            pitch_range=float(max(pitches) - min(pitches)),
            minor=1.0 if piece.key.mode == "minor" else 0.0,
            duration=float(self.track.duration_seconds),
            valence=float(self.composition.plan.mood.valence),
            arousal=float(self.composition.plan.mood.arousal),
        )


__all__ = ["Composition", "EngineJob", "JobKind", "JobTimings", "TrackFeatures", "TrackResult"]
