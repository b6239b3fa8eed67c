"""Errors the engine service raises to its callers; every message is written to be shown to the user.

    EngineError (engine.errors: `user_message` is what the user sees)
    ├── EngineInputError (engine.request: what the user asked cannot be done)
    ├── EngineBusy: the queue, or this user's share of it, is full
    └── EngineFailure: a job could not be finished
        ├── EngineTimeout, ModelLoadError
        ├── EngineOutOfMemory: the model or a renderer ran out of memory
        └── TrackTooLarge: the track does not fit the upload cap even at the lowest bitrate

An exception raised in a model or render process crosses back to the bot as a `WorkerFault`: the kind of
fault (`FaultKind`, decided in the worker, where the original type is at hand), the original's type name
and message (for the log) and, where the original was written for the user, its message. `user_facing`
turns it into the error class for its kind through one table, `FAULTS`; no type name is compared as a string.
"""

from __future__ import annotations

import enum
import math
import sys
from dataclasses import dataclass

from engine.errors import EngineError
from engine.request import EngineInputError


class EngineBusy(EngineError):
    """The queue (or this user's share of it) is full. `retry_after_s` is an honest estimate of when to try again."""

    def __init__(self, retry_after_s: float, reason: str) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.reason = reason
        unit = "second" if self.retry_after_s == 1 else "seconds"
        super().__init__(f"{reason} Please try again in {self.retry_after_s} {unit}.")

    @property
    def user_message(self) -> str:
        """The short form the bot shows (ephemerally) when it refuses a command."""
        return f"{self.reason} Try again in {max(1, math.ceil(self.retry_after_s))} s."


class EngineFailure(EngineError):
    """The engine could not finish a job (a model error, a crashed render worker, a shutdown)."""


class EngineTimeout(EngineFailure):
    """A job did not finish within the service's time limit."""


class ModelLoadError(EngineFailure):
    """A model could not be loaded (a missing or damaged checkpoint); the message names the file."""


class EngineOutOfMemory(EngineFailure):
    """The model (or a renderer) ran out of memory on a job; trying again later usually works."""


class TrackTooLarge(EngineFailure):
    """The track is too long for the upload cap even at the lowest bitrate; the message says what to do."""


class FaultKind(enum.Enum):
    """What went wrong in a worker process, as the worker classified it."""

    OUT_OF_MEMORY = "out_of_memory"
    TOO_LARGE = "too_large"
    INTERNAL = "internal"  # anything else: a bug, a library error


class WorkerFault(Exception):
    """An exception from a worker process, carried to the bot as its kind and text (the original may not pickle).

    `kind`: the FaultKind; `message`: "TypeName: text", for the log; `type_name`: the original's type, named in
    the user's message for an internal error; `user_text`: the original's own message when it was written for
    the user (TrackTooLarge), else None.
    """

    def __init__(self, kind: FaultKind, message: str, type_name: str, user_text: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.type_name = type_name
        self.user_text = user_text

    def __reduce__(self):
        return (WorkerFault, (self.kind, str(self), self.type_name, self.user_text))


@dataclass(frozen=True)
class FaultRule:
    """How one kind of fault reaches the user: the error class and its message ({stage}: writing or rendering;
    {name}: the original's type; {text}: the original's own message)."""

    error: type[EngineFailure]
    message: str


FAULTS: dict[FaultKind, FaultRule] = {
    FaultKind.OUT_OF_MEMORY: FaultRule(EngineOutOfMemory, "The composer ran out of memory while {stage} your piece. Please try again in a moment."),
    FaultKind.TOO_LARGE: FaultRule(TrackTooLarge, "{text}"),
    FaultKind.INTERNAL: FaultRule(EngineFailure, "Something went wrong while {stage} your piece ({name}). Please try again."),
}


def fault_kind(exc: BaseException) -> FaultKind:
    """Classify an exception where it was raised (in the worker), by its type."""
    if isinstance(exc, WorkerFault):
        return exc.kind
    if isinstance(exc, MemoryError):
        return FaultKind.OUT_OF_MEMORY
    torch = sys.modules.get("torch")  # only loaded where a model runs; never imported here for this
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return FaultKind.OUT_OF_MEMORY
    mp3 = sys.modules.get("engine.render.mp3")  # likewise only where a renderer runs
    if mp3 is not None and isinstance(exc, mp3.UploadTooLargeError):
        return FaultKind.TOO_LARGE
    return FaultKind.INTERNAL


def portable(exc: BaseException) -> BaseException:
    """What a worker sends back for an exception: the engine's own errors as they are, anything else as a WorkerFault."""
    if isinstance(exc, (EngineError, WorkerFault)):
        return exc
    kind = fault_kind(exc)
    name = type(exc).__name__
    return WorkerFault(kind, f"{name}: {exc}", name, str(exc) if kind is FaultKind.TOO_LARGE else None)


def user_facing(exc: BaseException, stage: str = "writing") -> EngineError:
    """What the user sees for an exception: the engine's own errors as they are, anything else as the
    EngineFailure subclass its FaultKind maps to in FAULTS (the original kept as the cause)."""
    if isinstance(exc, EngineError):
        return exc
    fault = exc if isinstance(exc, WorkerFault) else portable(exc)
    assert isinstance(fault, WorkerFault)
    rule = FAULTS[fault.kind]
    error = rule.error(rule.message.format(stage=stage, name=fault.type_name, text=fault.user_text or str(fault)))
    error.__cause__ = exc
    return error


__all__ = [
    "EngineBusy", "EngineError", "EngineFailure", "EngineInputError", "EngineOutOfMemory", "EngineTimeout", "FAULTS",
    "FaultKind", "FaultRule", "ModelLoadError", "TrackTooLarge", "WorkerFault", "fault_kind", "portable", "user_facing",
]
