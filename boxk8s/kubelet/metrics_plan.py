"""From cumulative samples to usage: metrics-server's storage (pkg/storage/pod.go, node.go, types.go).

A runtime reports cumulative CPU time; a rate needs two samples. Per node we keep the last
batch and, for each container, the sample before it (metrics-server's `last` and `prev`), and
compute usageNanoCores = ΔCPU / Δt over that window, memory = the last working set. A pod has
usage only once every one of its running containers has two samples (allContainersPresent);
its timestamp and window are those of its earliest container. Keyed by container id, a
restarted container (a new id) starts over, as metrics-server drops points older than a
container's new start time. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from boxk8s.client.metrics import ContainerUsage, NodeUsage, PodUsage
from boxk8s.kubelet.runtime.base import ContainerStats


@dataclass(frozen=True)
class NodeSamples:
    """One node's last two scrapes, and the usage they give."""

    last: dict[str, ContainerStats] = field(default_factory=dict)  # by container id
    prev: dict[str, ContainerStats] = field(default_factory=dict)
    time: float = 0.0  # when the last batch was taken
    prev_time: float | None = None  # the batch before it (None: only one so far)
    pods: dict[str, PodUsage] = field(default_factory=dict)  # by pod uid
    node: NodeUsage | None = None


def store_batch(old: NodeSamples | None, batch: list[ContainerStats], now: float) -> NodeSamples:
    """The node's samples after a new scrape taken at `now` (podStorage.Store): a container's
    previous last point becomes its prev when the new one is newer; a container not seen again
    is dropped."""
    old = old or NodeSamples()
    last: dict[str, ContainerStats] = {}
    prev: dict[str, ContainerStats] = {}
    for point in batch:
        if point.id in last:
            continue  # metrics-server: "Got duplicate Container point"
        last[point.id] = point
        before = old.last.get(point.id)
        if before is not None and point.timestamp > before.timestamp:
            prev[point.id] = before
        elif point.id in old.prev and old.prev[point.id].timestamp < point.timestamp:
            prev[point.id] = old.prev[point.id]
    prev_time = old.time if old.time else None
    pods = pod_usages(last, prev)
    return NodeSamples(last, prev, now, prev_time, pods, node_usage(pods, now, prev_time))


def container_usage(last: ContainerStats, prev: ContainerStats) -> ContainerUsage | None:
    """resourceUsage: the CPU rate between two points and the last working set; None for a
    decrease of the cumulative counter (metrics-server skips such a container)."""
    window = last.timestamp - prev.timestamp
    if window <= 0 or last.cpu_usage_ns < prev.cpu_usage_ns:
        return None
    rate = (last.cpu_usage_ns - prev.cpu_usage_ns) / window
    return ContainerUsage(last.name, int(rate), last.memory_working_set)


def pod_usages(last: dict[str, ContainerStats], prev: dict[str, ContainerStats]) -> dict[str, PodUsage]:
    """podStorage.GetMetrics for every pod of the batch: complete pods only."""
    by_pod: dict[str, list[ContainerStats]] = {}
    for point in last.values():
        by_pod.setdefault(point.pod_uid, []).append(point)
    out: dict[str, PodUsage] = {}
    for uid, points in by_pod.items():
        if any(p.id not in prev for p in points):
            continue
        usages: list[ContainerUsage] = []
        earliest: tuple[float, float] | None = None  # (timestamp, window)
        for p in sorted(points, key=lambda p: p.name):
            usage = container_usage(p, prev[p.id])
            if usage is None:
                continue
            usages.append(usage)
            if earliest is None or p.timestamp < earliest[0]:
                earliest = (p.timestamp, p.timestamp - prev[p.id].timestamp)
        if earliest is not None:
            out[uid] = PodUsage(earliest[0], earliest[1], tuple(usages))
    return out


def node_usage(pods: dict[str, PodUsage], now: float, prev_time: float | None) -> NodeUsage | None:
    """The node's usage: the sum of its pods' (metrics-server reads the node's own cgroup; on one
    shared machine that would count every node's pods and the host's other work). None until the
    node was sampled twice."""
    if prev_time is None or now <= prev_time:
        return None
    cpu = sum(c.cpu_nanocores for p in pods.values() for c in p.containers)
    memory = sum(c.memory_bytes for p in pods.values() for c in p.containers)
    return NodeUsage(now, now - prev_time, cpu, memory)
