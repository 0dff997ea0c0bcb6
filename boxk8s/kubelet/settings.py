"""Settings of one node and of its kubelet, with Kubernetes' defaults."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeSettings:
    name: str
    cpu_millis: int = 2000  # capacity; the CLI splits the Docker host between nodes
    memory_bytes: int = 4 * 1024**3
    pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()  # extra labels besides hostname/os/arch/roles
    taints: tuple[dict[str, str], ...] = ()
    fake: bool = False  # simulated node (fake runtime): pods run instantly, no Docker
    normal_events: bool = True  # the kubelet's Normal events (Pulled, Created, Started...)
    kubelet_version: str = "v1.32.0-boxk8s"
    heartbeat_seconds: float = 10.0  # Node status update and Lease renewal interval
    lease_duration_seconds: int = 40


@dataclass(frozen=True)
class KubeletSettings:
    crashloop_base_seconds: float = 10.0  # CrashLoopBackOff: base, doubled per restart...
    crashloop_max_seconds: float = 300.0  # ...up to five minutes (Kubernetes' values)
    image_backoff_base_seconds: float = 10.0
    image_backoff_max_seconds: float = 300.0
    backoff_reset_seconds: float = 0.0  # a container that ran this long starts over at base; 0 → 2 × max (10 min)
    status_resync_seconds: float = 10.0  # a pod worker re-checks its containers at least this often
    runtime_check_seconds: float = 5.0  # how often the runtime is pinged (kubelet's updateRuntimeUp)
    runtime_down_seconds: float = 30.0  # no answer this long: runtime down, node NotReady (runtime_state.py)
    solo_pods: bool = True  # single-container pods run without a sandbox container (plan.is_solo)
    # Pod DNS (kubelet's --cluster-dns, --cluster-domain, --resolv-conf; see kubelet/dns.py). No
    # cluster DNS: ClusterFirst pods fall back to the runtime's own DNS, with a MissingClusterDNS event.
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"  # the node's resolver file, the base of Default pods' dnsConfig; "" none
    extra: dict[str, str] = field(default_factory=dict)
