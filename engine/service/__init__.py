"""The engine service: the bot's one door to the models and the renderer.

Importing this package never imports torch (cogs import it): the model runs in a model process and the
renderer in render worker processes, both started by `EngineService.start()`.

    service = EngineService(checkpoint, soundfont, render_workers=2)
    await service.start()
    ticket = service.submit(EngineJob.compose(request, user_key="guild:user"))   # may raise EngineBusy
    async for position in ticket.positions(): ...                                # 0 = being worked on
    result = await ticket.result()                                               # TrackResult
    await service.stop()
"""

from engine.service.errors import EngineBusy, EngineFailure, EngineTimeout, ModelLoadError
from engine.service.jobs import Composition, EngineJob, JobKind, JobTimings, TrackFeatures, TrackResult
from engine.service.lag import LagSummary, LoopLagMonitor
from engine.service.service import EngineService, EngineStats
from engine.service.ticket import JobTicket

__all__ = [
    "Composition",
    "EngineBusy",
    "EngineFailure",
    "EngineJob",
    "EngineService",
    "EngineStats",
    "EngineTimeout",
    "JobKind",
    "JobTimings",
    "JobTicket",
    "LagSummary",
    "LoopLagMonitor",
    "ModelLoadError",
    "TrackFeatures",
    "TrackResult",
]
