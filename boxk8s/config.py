"""Settings for every component, with the defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ControllerSettings:
    """What the controller manager's controllers take from the cluster's settings."""

    node_grace_seconds: float = 40.0  # node-monitor-grace-period: no heartbeat this long → Unknown
    pod_eviction_seconds: float | None = None  # replaces the default 300 s not-ready/unreachable tolerations


@dataclass(frozen=True)
class ClusterSettings:
    state_dir: Path = field(default_factory=lambda: Path(".boxk8s"))
    host: str = "127.0.0.1"
    port: int = 6443
    ingress_port: int = 8080  # the Ingress proxy on `host`; 0: off
    ingress_tls_port: int = 8443  # its TLS side (needs ingress_port); 0: off
    write_kubeconfig: bool = True
    kubeconfig_path: Path | None = None  # where to merge the context; None: $KUBECONFIG or ~/.kube/config
    stop_timeout: float = 10.0
    compaction_interval: float = 300.0
    compaction_keep: int = 10_000
    cluster_name: str = ""  # names and labels Docker objects; "" → derived once from the state folder
    nodes: int = 1  # nodes whose pods are Docker containers
    fake_nodes: int = 0  # simulated nodes (pods "run" instantly, no Docker)
    node_cpu_millis: int = 0  # per node; 0 → the host's CPUs split between the Docker nodes
    node_memory_bytes: int = 0  # per node; 0 → the host's memory split between the Docker nodes
    pod_subnet: str = "10.244.0.0/16"
    crashloop_base_seconds: float = 10.0  # Kubernetes' CrashLoopBackOff base (tests shorten it)
    heartbeat_seconds: float = 10.0
    node_grace_seconds: float = 40.0  # node-monitor-grace-period: no heartbeat this long → Unknown
    pod_eviction_seconds: float = -1.0  # ≥ 0: replaces the default 300 s not-ready/unreachable tolerations

    @property
    def controllers(self) -> ControllerSettings:
        eviction = self.pod_eviction_seconds
        return ControllerSettings(self.node_grace_seconds, None if eviction < 0 else eviction)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def own_kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"
