"""The root of the engine's errors that a user sees: every `EngineError` carries the text shown to them.

A leaf module (no imports from the engine), so engine.request and engine.service can both build on it.
The service's own errors (busy, failure, time-out, model load) live in engine.service.errors.
"""

from __future__ import annotations


class EngineError(Exception):
    """An error the engine reports to its user; `user_message` is the text to show (by default the message)."""

    @property
    def user_message(self) -> str:
        return str(self)


__all__ = ["EngineError"]
