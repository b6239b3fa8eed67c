"""Starting the engine service for the bot: the model version to load, and clear errors when something is missing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.errors import StartupError
from engine.render import check_render_dependencies
from engine.service import EngineFailure, EngineService, ModelLoadError
from storage import ModelVersionError, Storage

log = logging.getLogger(__name__)

# Where the model shipped with Tunesmith lives (engine.checkpoint.SHIPPED_CHECKPOINT, without importing torch here).
SHIPPED_CHECKPOINT = Path(__file__).resolve().parent.parent / "engine" / "checkpoints" / "base.pt"


async def active_checkpoint(settings: Settings, storage: Storage) -> Path | None:
    """The checkpoint to serve: the version an admin promoted (if its file is still there), else the
    `checkpoint` setting, else None for the model shipped with Tunesmith."""
    active = await storage.models.active()
    if active is not None:
        path = Path(active.path)
        if path.is_file():
            return path
        log.warning("Active model version's file is missing; using the configured model", extra={"version": active.version, "path": str(path)})
    return settings.checkpoint


@dataclass(frozen=True)
class ModelCandidate:
    """A model the bot may serve: a checkpoint file (None: the shipped one) and its recorded version, if any."""

    path: Path | None
    version: str | None = None

    def describe(self) -> str:
        where = str(self.path or SHIPPED_CHECKPOINT)
        return f"model version {self.version} ({where})" if self.version else f"the model at {where}"


@dataclass(frozen=True)
class StartedEngine:
    service: EngineService
    checkpoint: Path | None
    notice: str | None = None  # set when the bot fell back from the model it should have served: say so to admins


async def model_candidates(settings: Settings, storage: Storage) -> list[ModelCandidate]:
    """What to serve, best first: the active version, the versions it replaced (newest first), the `checkpoint`
    setting, then the shipped model. Versions whose file is gone are left out (and logged)."""
    candidates: list[ModelCandidate] = []
    version = await storage.models.active()
    seen: set[str] = set()
    while version is not None and version.version not in seen:
        seen.add(version.version)
        path = Path(version.path)
        if path.is_file():
            candidates.append(ModelCandidate(path, version.version))
        else:
            log.warning("Model version's file is missing; skipping it", extra={"version": version.version, "path": str(path)})
        version = await storage.models.get(version.previous_version) if version.previous_version else None
    candidates += [ModelCandidate(settings.checkpoint), ModelCandidate(None)]
    unique: dict[Path | None, ModelCandidate] = {}
    for candidate in candidates:
        unique.setdefault(candidate.path.resolve() if candidate.path else None, candidate)
    return list(unique.values())


async def start_engine(settings: Settings, storage: Storage) -> StartedEngine:
    """A started EngineService, or StartupError naming what to install or change.

    A model that cannot be loaded (a damaged checkpoint) does not stop the bot: the next candidate of
    `model_candidates` is served instead, and the notice says which file and version failed and what is served.
    """
    if settings.engine_backend == "local":  # on Ray the render replicas check for themselves, on their nodes
        problems = check_render_dependencies(settings.soundfont)
        if problems:
            raise StartupError("Tunesmith cannot render audio:\n- " + "\n- ".join(problems))
    failures: list[str] = []
    for candidate in await model_candidates(settings, storage):
        service = _engine_service(settings, candidate.path)
        try:
            await service.start()
        except EngineFailure as exc:
            if not isinstance(exc.__cause__, ModelLoadError):
                raise StartupError(f"{exc}.") from exc
            log.error("Could not load %s; trying the next model", candidate.describe(), extra={"error": str(exc.__cause__)})
            failures.append(f"{candidate.describe()} could not be loaded: {exc.__cause__}")
            continue
        await record_serving_version(storage, service.model_version, candidate.path)
        notice = None
        if failures:
            notice = f"{'; '.join(failures)}. Serving {_served(candidate, service)} instead."
            log.warning(notice)
        log.info("Engine started", extra={"model": service.model_version, "workers": settings.render_workers})
        return StartedEngine(service, candidate.path, notice)
    raise StartupError(f"No model could be loaded: {'; '.join(failures)}. Check the `checkpoint` setting, or run `tunesmith train` to make a model.")


def _served(candidate: ModelCandidate, service: EngineService) -> str:
    return f"model version {service.model_version} ({candidate.path or SHIPPED_CHECKPOINT})"


def _engine_service(settings: Settings, checkpoint: Path | None) -> EngineService:
    options = dict(
        batch_max=settings.batch_max_requests,
        batch_wait_ms=settings.batch_max_wait_ms,
        timeout_s=settings.request_timeout_seconds,
        upload_cap_bytes=settings.upload_cap_bytes,
        queue_cap=settings.engine_queue_cap,
        per_user_cap=settings.per_user_queue_cap,
    )
    if settings.engine_backend == "ray":
        return _ray_engine(settings, checkpoint, options)
    return EngineService(checkpoint, settings.soundfont, render_workers=settings.render_workers, **options)


def _ray_engine(settings: Settings, checkpoint: Path | None, options: dict) -> EngineService:
    """The same service with its model and renders on the Ray cluster at ray_address (docs/DEPLOY.md)."""
    from engine.service.ray_backend import ray_engine_service

    try:
        return ray_engine_service(
            checkpoint, settings.soundfont, address=settings.ray_address or "", app_name=settings.ray_app_name,
            render_replicas=settings.render_workers, render_max_replicas=settings.ray_render_max_replicas,
            model_replicas=settings.ray_model_replicas, model_gpus=settings.ray_model_gpus, **options,
        )
    except EngineFailure as exc:
        raise StartupError(str(exc)) from exc


async def record_serving_version(storage: Storage, version: str | None, checkpoint: Path | None) -> None:
    """Make sure the model being served is a recorded version, active when none is, so /model history and
    /model rollback always have the model a retrain started from."""
    if version is None:
        return
    if await storage.models.get(version) is None:
        try:
            await storage.models.register(version, str(checkpoint or SHIPPED_CHECKPOINT))
        except ModelVersionError:
            if await storage.models.get(version) is None:
                raise  # not another shard starting at the same moment: a real conflict

    if await storage.models.active() is None:
        await storage.models.activate(version)
