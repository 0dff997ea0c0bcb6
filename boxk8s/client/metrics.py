"""The resource metrics seam: what the metrics sampler measures, read by the API's metrics.k8s.io
endpoints and by the HPA controller (upstream's metrics-server and the resource metrics client).

It sits in `client` because both sides use it and neither may import the other: the kubelet's
sampler (kubelet/metrics.py) implements `MetricsSource`, the API serves it as PodMetrics and
NodeMetrics, the HPA controller reads it as its REST metrics client reads metrics.k8s.io.
Usage is not stored in the database: it is computed from the runtimes, as metrics-server keeps
its last two scrapes in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"

# The APIService a cluster running metrics-server lists (`kubectl get apiservices`); boxk8s serves
# the group itself, so it is a Local one (no service), Available as the built-in groups are.
APISERVICE_NAME = f"{VERSION}.{GROUP}"
APISERVICE: dict[str, Any] = {
    "apiVersion": "apiregistration.k8s.io/v1",
    "kind": "APIService",
    "metadata": {"name": APISERVICE_NAME, "labels": {"k8s-app": "metrics-server"}},
    "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 100, "versionPriority": 100},
}
APISERVICE_AVAILABLE = {"type": "Available", "status": "True", "reason": "Local",
                        "message": "Local APIServices are always available"}


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_nanocores: int
    memory_bytes: int  # working set


@dataclass(frozen=True)
class PodUsage:
    timestamp: float  # seconds since the epoch: the end of the window
    window: float  # seconds the CPU rate was measured over
    containers: tuple[ContainerUsage, ...]


@dataclass(frozen=True)
class NodeUsage:
    timestamp: float
    window: float
    cpu_nanocores: int
    memory_bytes: int


class MetricsSource(Protocol):
    def pod_usage(self, pod_uid: str) -> PodUsage | None:
        """The pod's last usage (every running container measured twice), else None."""

    def node_usage(self, node: str) -> NodeUsage | None:
        """The node's last usage (sampled twice), else None."""


def pods_with_usage(pods: Iterable[dict[str, Any]], source: MetricsSource | None
                    ) -> list[tuple[dict[str, Any], PodUsage]]:
    """The pods metrics-server reports, with their usage: Running ones with metrics, sorted by
    namespace then name (metrics-server's podMetrics.List and getPodMetrics)."""
    if source is None:
        return []
    out = []
    for pod in pods:
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        usage = source.pod_usage((pod.get("metadata") or {}).get("uid", ""))
        if usage is not None:
            out.append((pod, usage))
    out.sort(key=lambda pu: (pu[0]["metadata"].get("namespace", ""), pu[0]["metadata"]["name"]))
    return out
