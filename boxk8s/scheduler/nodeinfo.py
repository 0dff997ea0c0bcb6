"""What the scheduler knows about a node: its allocatable resources and what its pods request.

Plain frozen values built from plain dicts; pods are summarised once into a `PodUsage`.
Requests follow upstream's `resourcehelper.PodRequests`: max(sum of containers (+ sidecars),
max of init containers) + overhead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.resources.quantity import QuantityError, milli_value, value

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL = "ephemeral-storage"
# Upstream's defaults for scoring containers that request nothing (pkg/scheduler/util/pod_resources.go).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

Amounts = Mapping[str, int]  # cpu in millis, everything else in units (bytes, devices)


def _amount(name: str, quantity: Any) -> int:
    try:
        return milli_value(quantity) if name == CPU else value(quantity)
    except QuantityError:
        return 0


def _container_requests(c: Mapping[str, Any]) -> dict[str, int]:
    res = c.get("resources") or {}
    # The apiserver defaults a missing request to the limit; do the same for objects written around it.
    merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return {k: _amount(k, v) for k, v in merged.items()}


def _add(into: dict[str, int], more: Amounts) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def _max(into: dict[str, int], other: Amounts) -> None:
    for k, v in other.items():
        if v > into.get(k, 0):
            into[k] = v


def _requests(spec: Mapping[str, Any], non_zero: bool) -> dict[str, int]:
    def reqs(c: Mapping[str, Any]) -> dict[str, int]:
        r = _container_requests(c)
        if non_zero:
            r[CPU] = r.get(CPU) or DEFAULT_MILLI_CPU_REQUEST
            r[MEMORY] = r.get(MEMORY) or DEFAULT_MEMORY_REQUEST
        return r

    total: dict[str, int] = {}
    for c in spec.get("containers") or []:
        _add(total, reqs(c))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in spec.get("initContainers") or []:
        r = reqs(c)
        if c.get("restartPolicy") == "Always":  # a sidecar keeps running beside the app containers
            _add(total, r)
            _add(sidecars, r)
            r = dict(sidecars)
        else:
            r = {**r}
            _add(r, sidecars)
        _max(init_max, r)
    _max(total, init_max)
    _add(total, {k: _amount(k, v) for k, v in (spec.get("overhead") or {}).items()})
    return total


def pod_requests(pod: Mapping[str, Any]) -> dict[str, int]:
    return _requests(pod.get("spec") or {}, non_zero=False)


def pod_non_zero_requests(pod: Mapping[str, Any]) -> tuple[int, int]:
    """(cpu millis, memory bytes) with 100m / 200Mi for containers that ask for none, for scoring."""
    r = _requests(pod.get("spec") or {}, non_zero=True)
    return r.get(CPU, 0), r.get(MEMORY, 0)


def pod_priority(pod: Mapping[str, Any]) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


@dataclass(frozen=True)
class PodUsage:
    """A pod placed on a node, as the node's bookkeeping needs it."""

    key: str  # namespace/name
    requests: Amounts
    non_zero: tuple[int, int]
    priority: int = 0
    host_ports: tuple[tuple[str, str, int], ...] = ()  # (hostIP, protocol, port)

    @classmethod
    def of(cls, pod: Mapping[str, Any]) -> PodUsage:
        md = pod.get("metadata") or {}
        return cls(
            key=f"{md.get('namespace', '')}/{md.get('name', '')}",
            requests=pod_requests(pod),
            non_zero=pod_non_zero_requests(pod),
            priority=pod_priority(pod),
            host_ports=pod_host_ports(pod),
        )


def pod_host_ports(pod: Mapping[str, Any]) -> tuple[tuple[str, str, int], ...]:
    out = []
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"])))
    return tuple(out)


def node_allocatable(node: Mapping[str, Any]) -> dict[str, int]:
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {k: _amount(k, v) for k, v in alloc.items()}


@dataclass(frozen=True)
class NodeInfo:
    node: Mapping[str, Any]
    allocatable: Amounts
    requested: Amounts = field(default_factory=dict)
    non_zero_requested: tuple[int, int] = (0, 0)
    pod_count: int = 0
    pods: tuple[PodUsage, ...] = ()

    @property
    def name(self) -> str:
        return str(self.node["metadata"]["name"])

    @classmethod
    def build(cls, node: Mapping[str, Any], pods: Iterable[PodUsage] = ()) -> NodeInfo:
        placed = tuple(pods)
        requested: dict[str, int] = {}
        cpu = mem = 0
        for p in placed:
            _add(requested, p.requests)
            cpu += p.non_zero[0]
            mem += p.non_zero[1]
        return cls(node, node_allocatable(node), requested, (cpu, mem), len(placed), placed)

    def adding(self, pod: PodUsage) -> NodeInfo:
        """`build(node, pods + (pod,))` without summing every pod again."""
        requested = dict(self.requested)
        _add(requested, pod.requests)
        cpu, mem = self.non_zero_requested
        return NodeInfo(self.node, self.allocatable, requested, (cpu + pod.non_zero[0], mem + pod.non_zero[1]),
                        self.pod_count + 1, (*self.pods, pod))

    @classmethod
    def from_pods(cls, node: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> NodeInfo:
        """From pod dicts (non-terminal ones count), e.g. in tests."""
        return cls.build(node, (PodUsage.of(p) for p in pods if not is_terminal(p)))
