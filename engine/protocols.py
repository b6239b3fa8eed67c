"""The typed seams between the engine's parts, torch-free so the bot and the service can import them.

`Composer` is what the model process runs (engine.generate.Composer is the real one; the tests' fake
composer is another); `ComposerFactory` makes one from a checkpoint path inside the model process.
`Engine` is what the bot reaches through `bot.services.engine`: engine.service.EngineService, or the
Ray backend's service, or a test's stand-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

import numpy as np

from engine.composition import Composition
from engine.music import Piece
from engine.request import ComposeRequest

if TYPE_CHECKING:
    from engine.service.jobs import EngineJob
    from engine.service.service import EngineStats
    from engine.service.ticket import JobTicket


@runtime_checkable
class Composer(Protocol):
    """Writes compositions: fresh ones in batches, edits of an existing piece one at a time."""

    model_version: str

    def generate(self, requests: list[ComposeRequest]) -> list[Composition]:
        """One composition per request, in order (a batched model call)."""
        ...

    def variation(self, parent: Composition | np.ndarray, request: ComposeRequest, strength: float = 0.3) -> Composition:
        ...

    def restyle(self, piece: Piece, style: str, request: ComposeRequest) -> Composition:
        ...

    def remood(self, piece: Piece, mood: str, request: ComposeRequest) -> Composition:
        ...

    def continue_piece(self, piece: Piece | bytes, bars: int, request: ComposeRequest) -> Composition:
        """The fragment followed by `bars` new bars; uploaded MIDI bytes are read by the composer."""
        ...

    def encode(self, piece: Piece) -> np.ndarray:
        """The piece's latent (the embedding variations and recommendations start from)."""
        ...


# Must be picklable (it runs in the model process): a module-level function or a partial of one.
ComposerFactory = Callable[[Path | None], Composer]


class Engine(Protocol):
    """The engine service as the bot uses it: submit jobs, swap the model, report, stop."""

    @property
    def model_version(self) -> str | None: ...

    def submit(self, job: EngineJob) -> JobTicket:
        """Queue a job and return its ticket at once; raises EngineBusy, EngineFailure or EngineInputError."""
        ...

    async def swap_model(self, path: Path | None) -> str:
        """Load another model version; the next batch uses it. Raises EngineFailure and keeps the current one."""
        ...

    def stats(self) -> EngineStats: ...

    def model_pid(self) -> int | None:
        """The model process's pid (None while none runs), for memory reports."""
        ...

    def render_worker_pids(self) -> list[int]: ...

    async def stop(self) -> None:
        """Refuse new jobs, give in-flight ones a while to finish, then fail the rest. Safe to call twice."""
        ...


__all__ = ["Composer", "ComposerFactory", "Engine"]
