"""The engine on Ray Serve: the model and the renders run as Serve deployments on a Ray cluster.

EngineService keeps its queue, fairness, positions, cancellation and time-outs in the bot process; only
what runs the model and the renders changes (EngineService's `model_stage` and `render_pool`):

    bot process (EngineService)                 Ray cluster (Serve applications, no HTTP proxy)
    FairQueue -> batcher -> RayModelStage.run ---handle--> <app>-model-<n>: ModelReplica (@serve.batch,
                                                             may take a GPU), one app per model version
                            RayRenderPool.render --handle-> <app>-render: RenderReplica (CPU, autoscaled)

A model swap deploys the new version as a new application, waits until every replica of it has loaded,
then switches the handle in one assignment: each batch runs on exactly one version, and the old
application is deleted once its last batch is done. A replica that dies mid-request is retried once
(Serve replaces it); a second death gives the user EngineFailure's "crashed ... try again" message.

Importing this package does not import Ray; `connect()` and `ray_engine_service()` do, and say what to
install when it is missing (`pip install 'tunesmith[scale]'`).
"""

from engine.service.ray_backend.cluster import LocalRayCluster, connect, parse_address, require_ray
from engine.service.ray_backend.stages import RayModelStage, RayRenderPool, ray_engine_service

__all__ = ["LocalRayCluster", "RayModelStage", "RayRenderPool", "connect", "parse_address", "ray_engine_service", "require_ray"]
