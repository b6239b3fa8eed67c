"""The bot's side of the Ray backend: RayModelStage and RayRenderPool, drop-in for ModelStage and RenderPool.

They keep those classes' narrow interfaces (ModelStage.load(path) -> version, run(jobs) -> outcomes;
RenderPool.start(), render(task, may_split)), so EngineService's queue, fairness, positions, cancellation
and time-outs work unchanged on top of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.service.errors import EngineFailure, EngineTimeout
from engine.service.jobs import EngineJob
from engine.service.model_stage import CRASH_MESSAGE as MODEL_CRASH_MESSAGE
from engine.service.model_stage import HANG_MESSAGE as MODEL_HANG_MESSAGE
from engine.service.model_worker import ComposerFactory, load_composer
from engine.service.render_pool import CRASH_MESSAGE as RENDER_CRASH_MESSAGE
from engine.service.render_pool import HANG_MESSAGE as RENDER_HANG_MESSAGE
from engine.service.render_pool import RenderPoolStats
from engine.service.render_worker import RenderFn, RenderFunctions, RenderTask

if TYPE_CHECKING:
    from engine.service.service import EngineService

log = logging.getLogger(__name__)

# The bot's own limit on a call is the replica's hang limit plus this: the replica answers a hang itself
# (and exits); this only catches a replica that cannot answer at all (its node lost, say).
CALL_GRACE_S = 15.0


class _ReplicaDied(Exception):
    """The replica running a request died (killed, crashed, its node lost) before answering."""


def _died_errors() -> tuple[type[BaseException], ...]:
    from ray.exceptions import ActorDiedError, ActorUnavailableError, NodeDiedError, RayActorError, WorkerCrashedError
    from ray.serve.exceptions import ReplicaUnavailableError

    return (RayActorError, ActorDiedError, ActorUnavailableError, WorkerCrashedError, NodeDiedError, ReplicaUnavailableError)


async def _await(response: Any) -> Any:
    """Await a DeploymentResponse; if our caller gives up (cancellation, time-out), cancel the request too."""
    try:
        return await response
    except asyncio.CancelledError:
        response.cancel()
        raise


async def _call(response: Any, limit_s: float) -> Any:
    """The result of a Serve request, with Ray's wrappers taken off: a replica's own exception is raised
    as itself, a dead replica as _ReplicaDied, no answer within limit_s as asyncio.TimeoutError."""
    from ray.exceptions import RayTaskError

    try:
        return await asyncio.wait_for(_await(response), limit_s)
    except RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, BaseException) else None
        if cause is None:
            raise  # no original to unwrap: the service reports it as a failure of its stage
        if isinstance(cause, _died_errors()):
            raise _ReplicaDied(str(exc)) from exc
        raise cause from None
    except _died_errors() as exc:
        raise _ReplicaDied(str(exc)) from exc


_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")


def _deploy_failure_reason(exc: BaseException) -> str:
    """The root cause in a Serve deployment failure ("FileNotFoundError: No model checkpoint at ..."),
    not the pages of traceback around it."""
    lines = [m for m in (_ERROR_LINE.match(line) for line in str(exc).splitlines()) if m]
    lines = [m for m in lines if not m.group(1).split(".")[-1].startswith(("Ray", "RuntimeError", "DeploymentUnavailable"))] or lines
    if not lines:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name, message = lines[-1].groups()
    return f"{name.split('.')[-1]}: {message.strip()}"


def _check_room(what: str, replicas: int, cpus: float, gpus: float, hint: str) -> None:
    """Serve waits for ever for resources the cluster lacks; say so at once instead."""
    import ray

    total, free = ray.cluster_resources(), ray.available_resources()
    for resource, each, setting in (("GPU", gpus, "ray_model_gpus"), ("CPU", cpus, None)):
        need = replicas * each
        if need <= 0:
            continue
        if need > total.get(resource, 0.0) + 1e-9:
            raise RuntimeError(f"{what} needs {need:g} {resource} ({replicas} x {each:g}) but the Ray cluster has "
                               f"{total.get(resource, 0.0):g} in all; " + (f"add a node with them or lower {setting}" if setting else "add nodes"))
        if need > free.get(resource, 0.0) + 1e-9:
            raise RuntimeError(f"{what} needs {need:g} {resource} ({replicas} x {each:g}) and only {free.get(resource, 0.0):g} "
                               f"are free on the Ray cluster{hint}")


class _DeployFailed(Exception):
    """serve.run failed; the message carries the deployments' own messages (the replica's traceback)."""


def _run_app(app: Any, name: str) -> Any:
    from ray import serve

    try:
        return serve.run(app, name=name, route_prefix=None)
    except Exception as exc:
        details = []
        try:
            status = serve.status().applications.get(name)
            if status is not None:
                details = [status.message] + [d.message for d in status.deployments.values()]
        except Exception:
            pass
        raise _DeployFailed("\n".join([str(exc), *details])) from exc


def _delete_app(name: str) -> None:
    from ray import serve

    try:
        serve.delete(name)
    except Exception:
        log.exception("could not delete the Serve application %s", name)


@dataclass(eq=False)
class _ModelApp:
    name: str
    handle: Any
    version: str
    in_flight: int = 0
    retiring: bool = False


class RayModelStage:
    """The model as a Serve application per version: `load(path)` deploys one and switches to it atomically.

    replicas, cpus, gpus: per version. With gpus=1 each replica takes a whole GPU (0.5: half of one).
    max_batch_requests: how many concurrent run() calls (bot batches, from every shard using this app)
    one model call may merge.
    """

    def __init__(self, composer_factory: ComposerFactory | None = None, *, app_name: str = "tunesmith", hang_timeout_s: float = 60.0,
                 replicas: int = 1, cpus: float = 1.0, gpus: float = 0.0, max_batch_requests: int = 4) -> None:
        if replicas < 1 or max_batch_requests < 1 or cpus < 0 or gpus < 0:
            raise ValueError("the model needs at least one replica, one request a batch, and no negative CPUs or GPUs")
        self._factory = composer_factory or load_composer
        self._prefix = f"{app_name}-model"
        self._hang_timeout_s = hang_timeout_s
        self._replicas = replicas
        self._actor_options = {"num_cpus": cpus, "num_gpus": gpus}
        self._max_batch_requests = max_batch_requests
        self._generation = 0
        self._app: _ModelApp | None = None
        self._version: str | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._old_apps: set[_ModelApp] = set()  # swapped out, deleted after their last batch
        self._closed = False
        self.crashes = 0
        self.hangs = 0

    @property
    def model_version(self) -> str | None:
        return self._version

    @property
    def pid(self) -> int | None:
        return None  # the model runs on the cluster, not in a process of this machine

    @property
    def app_name(self) -> str | None:
        return None if self._app is None else self._app.name

    async def load(self, path: Path | None) -> str:
        """Deploy `path` as a new application, wait until all its replicas have loaded it, then make it the
        one every following batch uses. Raises (the current model staying active) if it cannot load."""
        from ray import serve

        from engine.service.ray_backend.replicas import ModelReplica

        hint = "; a new version runs beside the old one until it has loaded, so leave room for both (e.g. ray_model_gpus = 0.5 on one GPU)" if self._app else ""
        _check_room("the model", self._replicas, self._actor_options["num_cpus"], self._actor_options["num_gpus"], hint)
        self._generation += 1
        name = f"{self._prefix}-{self._generation}"
        deployment = serve.deployment(ModelReplica).options(
            name="Model",
            num_replicas=self._replicas,
            ray_actor_options=dict(self._actor_options),
            max_ongoing_requests=self._max_batch_requests + 1,
            max_constructor_retry_count=1,
            health_check_period_s=5,
        )
        try:
            handle = await asyncio.to_thread(_run_app, deployment.bind(self._factory, path, self._max_batch_requests, self._hang_timeout_s), name)
        except Exception as exc:
            await asyncio.to_thread(_delete_app, name)
            raise RuntimeError(_deploy_failure_reason(exc)) from exc
        info = await _call(handle.info.remote(), CALL_GRACE_S + self._hang_timeout_s)
        app = _ModelApp(name, handle, info["version"])
        if self._closed:
            await asyncio.to_thread(_delete_app, name)
            raise EngineFailure("The engine is shutting down.")
        old, self._app = self._app, app  # the switch: one assignment, between two batches' run() calls
        self._version = app.version
        if old is not None:
            self._old_apps.add(old)
            self._retire(old)
        log.info("model %s serving from Serve application %s (%d replicas)", app.version, name, self._replicas)
        return app.version

    def _retire(self, app: _ModelApp) -> None:
        app.retiring = True
        if app.in_flight == 0 and app in self._old_apps:
            self._old_apps.discard(app)
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(_delete_app, app.name))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def run(self, jobs: list[EngineJob]) -> list[Any]:
        """One outcome per job, in order. If the replica dies during the batch, each job is tried once more on
        its own (Serve replaces the replica meanwhile), so a job that kills the model fails alone with
        EngineFailure. A batch past the hang limit raises EngineTimeout."""
        try:
            return await self._run_once(jobs)
        except _ReplicaDied as exc:
            self.crashes += 1
            log.error("model replica died during a batch of %d (%s); retrying its jobs one by one", len(jobs), exc)
        outcomes: list[Any] = []
        for job in jobs:
            try:
                outcomes += await self._run_once([job])
            except _ReplicaDied as exc:
                self.crashes += 1
                outcomes.append(EngineFailure(MODEL_CRASH_MESSAGE))
                outcomes[-1].__cause__ = exc
            except EngineTimeout as exc:
                outcomes.append(exc)
        return outcomes

    async def _run_once(self, jobs: list[EngineJob]) -> list[Any]:
        from engine.service.ray_backend.replicas import ReplicaHung

        app = self._app
        if app is None:
            raise RuntimeError("the model stage has no model loaded")
        app.in_flight += 1
        try:
            return await _call(app.handle.run.remote(jobs), self._hang_timeout_s + CALL_GRACE_S)
        except (ReplicaHung, asyncio.TimeoutError):
            self.hangs += 1
            raise EngineTimeout(MODEL_HANG_MESSAGE.format(seconds=self._hang_timeout_s)) from None
        finally:
            app.in_flight -= 1
            if app.retiring and app.in_flight == 0:
                self._retire(app)

    def replica_actors(self) -> list[str]:
        """The actor names of the active version's replicas (namespace "serve"): for tests and operators."""
        return [] if self._app is None else replica_actors(self._app.name)

    async def close(self) -> None:
        self._closed = True
        app, self._app = self._app, None
        names = [a.name for a in self._old_apps] + ([app.name] if app is not None else [])
        self._old_apps.clear()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        for name in names:
            await asyncio.to_thread(_delete_app, name)


def replica_actors(app_name: str) -> list[str]:
    """The names of an application's replica actors (namespace "serve"), e.g. to ray.kill one."""
    import ray

    return sorted(n["name"] for n in ray.util.list_named_actors(all_namespaces=True)
                  if n["name"].startswith("SERVE_REPLICA::") and f"::{app_name}#" in n["name"])


class RayRenderPool:
    """Rendering as one Serve application of CPU replicas, each rendering one piece at a time.

    replicas: how many run from the start; max_replicas (> replicas): Serve adds replicas up to it while
    renders queue (one ongoing render per replica is the target) and removes them when idle.
    The picture is drawn on the same replica as the audio (no split across two replicas).
    """

    def __init__(self, replicas: int = 1, *, max_replicas: int | None = None, app_name: str = "tunesmith", soundfont: Path | None = None,
                 functions: RenderFunctions | RenderFn | None = None, hang_timeout_s: float = 60.0, cpus: float = 1.0,
                 downscale_delay_s: float = 60.0) -> None:
        max_replicas = max_replicas or replicas
        if replicas < 1 or max_replicas < replicas:
            raise ValueError("rendering needs at least one replica, and max_replicas must not be below it")
        if functions is not None and not isinstance(functions, RenderFunctions):
            functions = RenderFunctions(whole=functions)
        self._replicas = replicas
        self._max_replicas = max_replicas
        self.app_name = f"{app_name}-render"
        self._soundfont = soundfont
        self._functions = functions
        self._hang_timeout_s = hang_timeout_s
        self._cpus = cpus
        self._downscale_delay_s = downscale_delay_s
        self._handle: Any = None
        self.stats = RenderPoolStats()

    @property
    def size(self) -> int:
        return self._max_replicas

    def pids(self) -> list[int]:
        return []  # the replicas' processes are on the cluster's nodes

    def replica_actors(self) -> list[str]:
        return replica_actors(self.app_name)

    async def start(self) -> None:
        from ray import serve

        from engine.service.ray_backend.replicas import RenderReplica

        try:
            _check_room("rendering", self._replicas, self._cpus, 0.0, "")
        except RuntimeError as exc:
            raise EngineFailure(f"The audio renderer could not start on the Ray cluster: {exc}") from None
        scaling: dict[str, Any]
        if self._max_replicas > self._replicas:
            scaling = {"autoscaling_config": {
                "min_replicas": self._replicas, "initial_replicas": self._replicas, "max_replicas": self._max_replicas,
                "target_ongoing_requests": 1, "upscale_delay_s": 2.0, "downscale_delay_s": self._downscale_delay_s,
            }}
        else:
            scaling = {"num_replicas": self._replicas}
        deployment = serve.deployment(RenderReplica).options(
            name="Render", ray_actor_options={"num_cpus": self._cpus}, max_ongoing_requests=1,
            max_constructor_retry_count=1, health_check_period_s=5, **scaling,
        )
        try:
            self._handle = await asyncio.to_thread(_run_app, deployment.bind(self._soundfont, self._functions, self._hang_timeout_s), self.app_name)
        except Exception as exc:
            await asyncio.to_thread(_delete_app, self.app_name)
            raise EngineFailure(f"The audio renderer could not start on the Ray cluster: {_deploy_failure_reason(exc)}") from exc

    async def render(self, task: RenderTask, *, may_split: bool = True) -> Any:
        """Render on the next free replica. A replica that dies mid-render is replaced by Serve and the render
        tried once more; a second death raises EngineFailure, a hang EngineTimeout."""
        from engine.service.ray_backend.replicas import ReplicaHung

        if self._handle is None:
            raise EngineFailure("The audio renderer has not started.")
        for attempt in (1, 2):
            try:
                track = await _call(self._handle.render.remote(task), self._hang_timeout_s + CALL_GRACE_S)
            except _ReplicaDied as exc:
                self.stats.crashes += 1
                if attempt == 2:
                    raise EngineFailure(RENDER_CRASH_MESSAGE) from exc
                log.error("render replica died during a render (%s); trying once more", exc)
                self.stats.restarts += 1
                continue
            except (ReplicaHung, asyncio.TimeoutError):
                self.stats.hangs += 1
                raise EngineTimeout(RENDER_HANG_MESSAGE.format(seconds=self._hang_timeout_s)) from None
            self.stats.renders += 1
            self.stats.render_seconds.append(track.timings.total())
            del self.stats.render_seconds[:-1000]
            return track
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._handle is not None:
            self._handle = None
            await asyncio.to_thread(_delete_app, self.app_name)


def release_leftover_apps(app_name: str) -> list[str]:
    """Delete the Serve applications an earlier process with this `app_name` left on the cluster.

    Serve keeps an application running after the driver that deployed it is gone: a shard process killed with
    SIGKILL (or whose host died) leaves its model and render replicas holding the cluster's CPUs and GPUs, and
    its successor (the same shard started again, with the same ray_app_name) could not deploy beside them.
    Each live process must have its own ray_app_name, so what carries this name belongs to no live process."""
    import re

    from ray import serve

    pattern = re.compile(rf"^{re.escape(app_name)}-(render|model-[0-9]+)$")
    try:
        names = [name for name in serve.status().applications if pattern.match(name)]
    except Exception:
        log.exception("could not list the Serve applications")
        return []
    for name in names:
        log.warning("deleting Serve application %s, left by an earlier run with ray_app_name %s", name, app_name)
        _delete_app(name)
    return names


def ray_engine_service(
    checkpoint: Path | None = None,
    soundfont: Path | None = None,
    *,
    address: str,
    app_name: str = "tunesmith",
    render_replicas: int = 1,
    render_max_replicas: int | None = None,
    model_replicas: int = 1,
    model_gpus: float = 0.0,
    model_cpus: float = 1.0,
    render_cpus: float = 1.0,
    model_batch_requests: int = 4,
    composer_factory: ComposerFactory | None = None,
    render_fn: RenderFn | RenderFunctions | None = None,
    timeout_s: float = 60.0,
    **service_options: Any,
) -> "EngineService":
    """An EngineService (not started) whose model and renders run on the Ray cluster at `address`.
    Joins the cluster now; raises EngineFailure with what to fix if it cannot."""
    from engine.service.ray_backend.cluster import connect
    from engine.service.service import EngineService

    connect(address)
    release_leftover_apps(app_name)
    model = RayModelStage(composer_factory, app_name=app_name, hang_timeout_s=timeout_s, replicas=model_replicas,
                          cpus=model_cpus, gpus=model_gpus, max_batch_requests=model_batch_requests)
    renders = RayRenderPool(render_replicas, max_replicas=render_max_replicas, app_name=app_name, soundfont=soundfont,
                            functions=render_fn, hang_timeout_s=timeout_s, cpus=render_cpus)
    service_options.setdefault("pipeline_depth", 2 * renders.size)
    return EngineService(checkpoint, soundfont, timeout_s=timeout_s, render_workers=renders.size,
                         model_stage=model, render_pool=renders, **service_options)


__all__ = ["RayModelStage", "RayRenderPool", "ray_engine_service", "release_leftover_apps", "replica_actors"]
