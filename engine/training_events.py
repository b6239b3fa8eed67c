"""The events a training run writes and the bot reads: one JSON object a line on the trainer's stdout.

Both trainers (engine.finetune for the shared model, engine.taste.train for a server's taste) write through
`emit`; the bot's model registry (bot.registry) reads them back with `parse`. The wire format:

    {"event": "progress", "stage": "vae", "step": 10, "total": 300, "elapsed": 1.2, "loss": 0.31}
    {"event": "done", "version": "...", "path": ".../model.pt", "promote": true, "reason": "...", "metrics": {...}}
    {"event": "error", "message": "..."}

A run that ends without a `done` or an `error` line was stopped from outside (killed, out of memory).
No torch here: the bot imports this module.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, Union

STAGES = ("vae", "gan", "critic", "actor")  # engine.finetune: vae, gan; engine.taste.train: critic, actor


@dataclass(frozen=True)
class Progress:
    """How far the run is: `step` of `total` in `stage`, with the stage's latest numbers (loss, critic, gain, ...)."""

    stage: str
    step: int
    total: int
    elapsed: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    name: ClassVar[str] = "progress"

    def fields(self) -> dict[str, Any]:
        return {"stage": self.stage, "step": self.step, "total": self.total, **self.metrics, "elapsed": self.elapsed}

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Progress:
        extra = {k: float(v) for k, v in data.items() if k not in ("event", "stage", "step", "total", "elapsed") and isinstance(v, (int, float))}
        return cls(str(data.get("stage", "")), int(data.get("step", 0)), int(data.get("total", 1)), float(data.get("elapsed", 0.0)), extra)

    @property
    def fraction(self) -> float:
        return min(1.0, max(0.0, self.step / max(1, self.total)))


@dataclass(frozen=True)
class Finished:
    """The candidate the run saved and its verdict: `promote` says whether it measured at least as good as what it started from."""

    version: str
    path: str
    promote: bool
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)

    name: ClassVar[str] = "done"

    def fields(self) -> dict[str, Any]:
        return {"version": self.version, "path": self.path, "promote": self.promote, "reason": self.reason, "metrics": self.metrics}

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Finished:
        return cls(str(data["version"]), str(data["path"]), bool(data.get("promote")), str(data.get("reason") or ""), dict(data.get("metrics") or {}))


@dataclass(frozen=True)
class Failed:
    """The trainer refused its input or failed; `message` says why, for the admin."""

    message: str

    name: ClassVar[str] = "error"

    def fields(self) -> dict[str, Any]:
        return {"message": self.message}

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Failed:
        return cls(str(data.get("message") or "the training process failed"))


TrainingEvent = Union[Progress, Finished, Failed]
_KINDS: dict[str, type[Progress] | type[Finished] | type[Failed]] = {k.name: k for k in (Progress, Finished, Failed)}


def to_line(event: TrainingEvent) -> str:
    return json.dumps({"event": event.name, **event.fields()})


def emit(event: TrainingEvent, stream: IO[str] | None = None) -> None:
    """Write one event for whoever runs the trainer (the bot reads stdout), at once."""
    out = stream or sys.stdout
    out.write(to_line(event) + "\n")
    out.flush()


def parse(line: str | bytes) -> TrainingEvent | None:
    """The event on one line of a trainer's output; None for anything else (a library printing, a torn line)."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    kind = _KINDS.get(str(data.get("event")))
    if kind is None:
        return None
    try:
        return kind.from_fields(data)
    except (KeyError, TypeError, ValueError):
        return None


__all__ = ["Progress", "Finished", "Failed", "TrainingEvent", "STAGES", "emit", "parse", "to_line"]
