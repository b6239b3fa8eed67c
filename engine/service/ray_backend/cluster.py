"""Reaching a Ray cluster (the bot's side), and a small local one on loopback for tests and benchmarks."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
import sys
from pathlib import Path
from typing import Iterable

from engine.service.errors import EngineFailure

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'tunesmith[scale]'"
# Ray rewrites a loopback address to the machine's network address unless told it runs a one-machine
# cluster (the variable's name is historical: it is read on Linux too). Only set for loopback addresses.
_LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
SERVE_NAMESPACE = "serve"


def require_ray() -> None:
    """Raise EngineFailure naming the install command when Ray Serve is missing."""
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError as exc:
        raise EngineFailure(f'engine_backend = "ray" needs Ray Serve, which is not installed here: {INSTALL_HINT}') from exc


def parse_address(address: str | None) -> tuple[str, int]:
    """`host:port` of the Ray head's GCS (what `ray start --head --port=6379` prints), or a clear ValueError."""
    if not address or not address.strip():
        raise ValueError('engine_backend = "ray" needs ray_address, the head node\'s host:port (e.g. "10.0.0.5:6379")')
    text = address.strip()
    if text.startswith("ray://"):
        raise ValueError(f"ray_address {text!r} is a Ray Client address; give the head's GCS address host:port (port 6379 by default)")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"ray_address {text!r} is not host:port (e.g. \"10.0.0.5:6379\")")
    return host.strip("[]"), int(port)


def _stay_on_loopback() -> None:
    """Keep Ray's addresses on 127.0.0.1 (it would otherwise swap a loopback address for the machine's)."""
    os.environ[_LOOPBACK_ONLY_ENV] = "0"  # read when Ray is imported, by this process and its workers
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # Ray was imported already: the value it read then is what it uses
        constants.ENABLE_RAY_CLUSTER = False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(address: str, namespace: str = "tunesmith", check_timeout_s: float = 5.0) -> None:
    """Join the Ray cluster at `address` as a driver and make sure Serve runs (without HTTP proxies: the bot
    calls deployments through handles). Raises EngineFailure with what to fix when it cannot."""
    try:
        host, port = parse_address(address)
    except ValueError as exc:
        raise EngineFailure(str(exc)) from exc
    if _is_loopback(host):
        _stay_on_loopback()
    try:  # ray.init retries an unreachable address for minutes; answer at once instead
        socket.create_connection((host, port), timeout=check_timeout_s).close()
    except OSError as exc:
        raise EngineFailure(
            f"Could not reach the Ray cluster at {host}:{port} ({exc.strerror or exc}). Start its head with "
            f"`ray start --head --port={port}` or correct the ray_address setting (docs/DEPLOY.md)."
        ) from exc
    require_ray()
    import ray
    from ray import serve

    if not ray.is_initialized():
        try:
            ray.init(address=f"{host}:{port}", namespace=namespace, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:
            raise EngineFailure(f"Could not join the Ray cluster at {host}:{port}: {exc}") from exc
    from ray.exceptions import ActorAlreadyExistsError

    for attempt in range(5):
        try:
            serve.start(proxy_location="Disabled")
            return
        except ActorAlreadyExistsError:
            # Another driver (another shard starting at the same moment) created Serve's controller between
            # Serve looking for it and creating it: the next try finds it and connects to it.
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


class LocalRayCluster:
    """A Ray cluster on this machine, on 127.0.0.1 only: a head and `workers` more nodes (raylets), each
    with `cpus` logical CPUs. For tests and `tunesmith bench scale`; stop it with shutdown() (or `with`)."""

    def __init__(self, head_cpus: float = 2, workers: int = 1, worker_cpus: float = 2, pythonpath: Iterable[Path] = ()) -> None:
        self._head_cpus = head_cpus
        self._workers = workers
        self._worker_cpus = worker_cpus
        self._pythonpath = [PROJECT_ROOT, *pythonpath]
        self._cluster = None
        self.address: str | None = None

    def start(self) -> str:
        # Before Ray is imported: loopback addresses stay loopback, and every worker imports this checkout.
        _stay_on_loopback()
        paths = [str(p) for p in self._pythonpath] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        require_ray()
        from ray.cluster_utils import Cluster

        common = {"node_ip_address": "127.0.0.1", "object_store_memory": 200 * 1024 * 1024}
        self._cluster = Cluster(initialize_head=True, head_node_args={**common, "num_cpus": self._head_cpus, "include_dashboard": False})
        try:
            for _ in range(self._workers):
                self._cluster.add_node(**common, num_cpus=self._worker_cpus)
        except BaseException:
            self.shutdown()
            raise
        self.address = self._cluster.address
        return self.address

    def shutdown(self) -> None:
        """Stop Serve (if this process started it), disconnect, and stop every node this object started."""
        import ray

        if ray.is_initialized():
            try:
                from ray import serve

                serve.shutdown()
            except Exception:
                log.exception("could not shut Serve down cleanly")
            ray.shutdown()
        if self._cluster is not None:
            self._cluster.shutdown()
            self._cluster = None

    def __enter__(self) -> "LocalRayCluster":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
