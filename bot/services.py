"""What cogs reach through `bot.services`: the settings, the storage, once started the engine service, and the
workflow services over them (`registry`: training runs, promotion and rollback, bot.registry).

Cogs talk to storage and the engine only through these public objects, never by importing torch or opening
their own database connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import Settings
from engine.protocols import Engine
from storage import Storage

if TYPE_CHECKING:
    from bot.registry import ModelRegistry

# The engine service as the bot uses it (engine.service.EngineService, the Ray backend's, or a test's stand-in).
EngineService = Engine


class StorageNotOpenError(RuntimeError):
    """Storage was used before the bot's setup_hook opened it or after close()."""


class Services:
    """The shared objects, created by the bot: `storage` opens in its setup_hook and closes in its close()."""

    def __init__(self, settings: Settings, *, storage: Storage | None = None, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine: Engine | None = engine  # filled in by whoever starts the engine service
        # Set when the engine serves another model than it should (the active one's checkpoint is damaged).
        self.model_notice: str | None = None
        self._storage = storage
        self._registry: ModelRegistry | None = None

    @property
    def registry(self) -> ModelRegistry:
        """The model registry (bot.registry): one per bot process, since one training run at a time runs on it."""
        if self._registry is None:
            from bot.registry import ModelRegistry

            self._registry = ModelRegistry(self)
        return self._registry

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
