"""The node set of a cluster: names, capacities, and the runtime each node's kubelet drives."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from boxk8s.config import ClusterSettings
from boxk8s.kubelet.settings import NodeSettings

CONTROL_PLANE_LABEL = ("node-role.kubernetes.io/control-plane", "")


@dataclass(frozen=True)
class HostResources:
    cpu_millis: int
    memory_bytes: int


def host_resources() -> HostResources:
    """The local Docker host's CPUs and memory (the Docker daemon runs on this machine)."""
    memory = 4 * 1024**3
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return HostResources(cpu_millis=(os.cpu_count() or 2) * 1000, memory_bytes=memory)


def cluster_name(state_dir: Path, requested: str = "") -> str:
    """A stable, Docker-safe cluster name, kept in the state folder once chosen."""
    path = state_dir / "cluster-name"
    if requested:
        name = requested
    elif path.exists():
        return path.read_text().strip()
    else:
        base = re.sub(r"[^a-z0-9-]+", "-", state_dir.resolve().parent.name.lower()).strip("-")[:20] or "boxk8s"
        digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:6]
        name = f"{base}-{digest}"
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(name + "\n")
    return name


def plan_nodes(settings: ClusterSettings, host: HostResources) -> list[NodeSettings]:
    """Docker nodes first (the first is the control plane, as in kind), then fake ones."""
    docker_nodes = max(settings.nodes, 0)
    cpu = settings.node_cpu_millis or max(host.cpu_millis // max(docker_nodes, 1), 100)
    memory = settings.node_memory_bytes or max(host.memory_bytes // max(docker_nodes, 1), 256 * 1024**2)
    out: list[NodeSettings] = []
    for i in range(docker_nodes):
        name = "boxk8s-control-plane" if i == 0 else ("boxk8s-worker" if i == 1 else f"boxk8s-worker{i}")
        labels = (CONTROL_PLANE_LABEL,) if i == 0 else ()
        out.append(NodeSettings(name=name, cpu_millis=cpu, memory_bytes=memory, labels=labels,
                                heartbeat_seconds=settings.heartbeat_seconds))
    for i in range(max(settings.fake_nodes, 0)):
        out.append(NodeSettings(name=f"fake-node-{i + 1}", cpu_millis=settings.node_cpu_millis or 32_000,
                                memory_bytes=settings.node_memory_bytes or 256 * 1024**3, fake=True,
                                normal_events=False,  # as KWOK's nodes: only trouble is told; they exist to be many
                                heartbeat_seconds=settings.heartbeat_seconds))
    return out
