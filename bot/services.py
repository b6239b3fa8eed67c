"""What cogs reach through `bot.services`: the settings, the storage and (once the lead adds it) the engine service.

Cogs talk to storage and the engine only through these public objects, never by importing torch or opening
their own database connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.config import Settings
from storage import Storage


class EngineService(Protocol):
    """The engine's queue + worker pool (engine.service.EngineService), as far as the bot core needs it."""

    async def stop(self) -> None:
        """Refuse new jobs, give in-flight ones a while to finish, then fail the rest. Safe to call twice."""


class StorageNotOpenError(RuntimeError):
    """Storage was used before the bot's setup_hook opened it or after close()."""


@dataclass
class Services:
    settings: Settings
    _storage: Storage | None = field(default=None, repr=False)
    engine: EngineService | Any | None = None  # filled in by the engine service's start-up

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise StorageNotOpenError("Storage is not open: the bot has not finished starting, or has stopped.")
        return self._storage

    @property
    def has_storage(self) -> bool:
        return self._storage is not None

    def attach_storage(self, storage: Storage | None) -> None:
        self._storage = storage
