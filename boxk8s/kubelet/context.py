"""What a pod worker is given: a narrow, frozen view of its node, not the whole kubelet.

As controller-runtime injects a client into a reconciler, the kubelet builds one
`WorkerContext` and hands it to every `PodWorker`: the worker sees the runtime, the API calls
it makes, an event emitter, the clock and settings, and the few facts of its node it puts into
containers. So a worker is built (and tested) without a Kubelet, and the worker module does
not import the kubelet's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from boxk8s.kubelet.clock import Clock
from boxk8s.kubelet.runtime.base import ContainerRuntime
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings

if TYPE_CHECKING:
    from boxk8s.resources.registry import ResourceType

Obj = dict[str, Any]


class PodClient(Protocol):
    """The API calls a pod worker makes (`boxk8s.client.Client` has them): read the pod and the
    configMaps and secrets it references, write its status, delete it once it has terminated, ask
    for its ServiceAccount tokens."""

    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...
    async def update_status(self, rt: ResourceType, obj: Obj) -> Obj: ...
    async def delete(self, rt: ResourceType, namespace: str | None, name: str,
                     options: Obj | None = None) -> tuple[Obj, bool]: ...
    async def create_token(self, namespace: str, name: str, request: Obj) -> Obj: ...


class EventEmitter(Protocol):
    """Records an Event about a pod (`container`: the involved container, "" for the pod). The
    kubelet's decides which are recorded (a node may drop Normal events) and never raises."""

    async def __call__(self, pod: Obj, type_: str, reason: str, message: str, container: str = "") -> None: ...


def node_allocatable(node: NodeSettings) -> dict[str, str]:
    """What a container's resourceFieldRef falls back to when it sets no limit (as kubelet does)."""
    return {"cpu": f"{node.cpu_millis}m", "memory": str(node.memory_bytes)}


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class WorkerContext:
    runtime: ContainerRuntime
    client: PodClient
    emit: EventEmitter
    clock: Clock
    settings: KubeletSettings
    host_ip: str  # the node's InternalIP: pods' hostIP, and status.hostIP in env
    cluster: str  # names the volumes the runtime makes for a pod
    state_dir: Path  # pods' configMap/secret/downwardAPI files live below it
    node_allocatable: Mapping[str, str]  # see `node_allocatable`
    services: Callable[[], list[Obj]] = field(default=lambda: [])  # the cluster's Services (for their env vars)
    # awaited before a container's env is made: the Services have been read once (kubelet's
    # serviceHasSynced: no container starts without its KUBERNETES_SERVICE_HOST)
    services_synced: Callable[[], Awaitable[None]] = field(default=lambda: _nothing())
    # False while the runtime is down (kubelet/runtime_state.py): workers skip their syncs
    runtime_up: Callable[[], bool] = field(default=lambda: True)
