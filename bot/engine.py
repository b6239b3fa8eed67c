"""Starting the engine service for the bot: the model version to load, and clear errors when something is missing."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import Settings
from bot.errors import StartupError
from engine.render import check_render_dependencies
from engine.service import EngineFailure, EngineService
from storage import Storage

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


async def start_engine(settings: Settings, storage: Storage) -> EngineService:
    """A started EngineService, or StartupError naming what to install or change."""
    if settings.engine_backend == "local":  # on Ray the render replicas check for themselves, on their nodes
        problems = check_render_dependencies(settings.soundfont)
        if problems:
            raise StartupError("Tunesmith cannot render audio:\n- " + "\n- ".join(problems))
    checkpoint = await active_checkpoint(settings, storage)
    options = dict(
        batch_max=settings.batch_max_requests,
        batch_wait_ms=settings.batch_max_wait_ms,
        timeout_s=settings.request_timeout_seconds,
        upload_cap_bytes=settings.upload_cap_bytes,
        queue_cap=settings.engine_queue_cap,
        per_user_cap=settings.per_user_queue_cap,
    )
    if settings.engine_backend == "ray":
        service = _ray_engine(settings, checkpoint, options)
    else:
        service = EngineService(checkpoint, settings.soundfont, render_workers=settings.render_workers, **options)
    try:
        await service.start()
    except EngineFailure as exc:
        raise StartupError(f"{exc}. Check the `checkpoint` setting, or run `tunesmith train` to make a model.") from exc
    await record_serving_version(storage, service.model_version, checkpoint)
    log.info("Engine started", extra={"model": service.model_version, "workers": settings.render_workers})
    return service


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
        await storage.models.register(version, str(checkpoint or SHIPPED_CHECKPOINT))
    if await storage.models.active() is None:
        await storage.models.activate(version)
