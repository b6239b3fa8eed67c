"""Errors the engine service raises to its callers; every message is written to be shown to the user."""

from __future__ import annotations

import math


class EngineBusy(Exception):
    """The queue (or this user's share of it) is full. `retry_after_s` is an honest estimate of when to try again."""

    def __init__(self, retry_after_s: float, reason: str) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.reason = reason
        unit = "second" if self.retry_after_s == 1 else "seconds"
        super().__init__(f"{reason} Please try again in {self.retry_after_s} {unit}.")


class EngineFailure(Exception):
    """The engine could not finish a job (a model error, a crashed render worker, a shutdown)."""


class EngineTimeout(EngineFailure):
    """A job did not finish within the service's time limit."""


class ModelLoadError(EngineFailure):
    """A model could not be loaded (a missing or damaged checkpoint); the message names the file."""


__all__ = ["EngineBusy", "EngineFailure", "EngineTimeout", "ModelLoadError"]
