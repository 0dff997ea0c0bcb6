"""Settings for every component, with the defaults in one place."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

FALLBACK_SERVICE_CIDR = "10.96.0.0/12"  # kubeadm's default, for a pod subnet too small to hold one

# `boxk8s up` leaves these open by default; the cluster's placement (cluster/placement.py) decides them.
AUTO_SUBNET = "auto"  # the recorded pod subnet, else the first of the pool that no Docker network overlaps
AUTO_PORT = -1  # the recorded port, else the default, else a free one
DEFAULT_PORTS = (6443, 8080, 8443)  # the API, the Ingress proxy, its TLS side
DEFAULT_SUBNET_POOL = "10.244.0.0/16"  # the first automatic pod subnet; then 10.245.0.0/16, …


def subnet_quarters(pod_subnet: str) -> list[ipaddress.IPv4Network] | None:
    """The four quarters of an IPv4 pod subnet (the lower two: Docker's own addresses; the third:
    fixed pod IPs, kubelet/runtime/addresses.py; the top: the Services'); None when the subnet is
    IPv6, too small (longer than /28) or not a subnet."""
    try:
        net = ipaddress.ip_network(pod_subnet, strict=False)
    except ValueError:
        return None
    if not isinstance(net, ipaddress.IPv4Network) or net.prefixlen > 28:
        return None
    return list(net.subnets(prefixlen_diff=2))


def service_cidr_for(pod_subnet: str) -> str:
    """The ClusterIP range that goes with a pod subnet: its top quarter (10.244.192.0/18 for
    10.244.0.0/16). Inside the pods' own network, a ClusterIP is on-link for every pod and the host,
    so the cluster's network agent can answer for it (DESIGN.md §6) with no route to install
    anywhere. An IPv6 or tiny subnet gets kubeadm's range, which pods cannot reach."""
    quarters = subnet_quarters(pod_subnet)
    return str(quarters[3]) if quarters else FALLBACK_SERVICE_CIDR


@dataclass(frozen=True)
class ControllerSettings:
    """What the controller manager's controllers take from the cluster's settings."""

    node_grace_seconds: float = 40.0  # node-monitor-grace-period: no heartbeat this long → Unknown
    pod_eviction_seconds: float | None = None  # replaces the default 300 s not-ready/unreachable tolerations
    # The HPA controller: kube-controller-manager's --horizontal-pod-autoscaler-* flags and defaults.
    hpa_sync_seconds: float = 15.0  # -sync-period
    hpa_downscale_stabilization_seconds: float = 300.0  # -downscale-stabilization
    hpa_tolerance: float = 0.1  # -tolerance
    hpa_cpu_initialization_seconds: float = 300.0  # -cpu-initialization-period
    hpa_initial_readiness_delay_seconds: float = 30.0  # -initial-readiness-delay


@dataclass(frozen=True)
class ClusterSettings:
    state_dir: Path = field(default_factory=lambda: Path(".boxk8s"))
    host: str = "127.0.0.1"
    port: int = 6443  # 0: any free port; AUTO_PORT: decided at start (cluster/placement.py)
    ingress_port: int = 8080  # the Ingress proxy on `host`; 0: off; AUTO_PORT as `port`
    ingress_tls_port: int = 8443  # its TLS side (needs ingress_port); 0: off; AUTO_PORT as `port`
    # Which of "api", "ingress", "ingress-tls" were chosen, not given: a port taken at bind time gives way
    # to the next free one (placement.listen).
    port_fallback: frozenset[str] = frozenset()
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
    pod_subnet: str = "10.244.0.0/16"  # AUTO_SUBNET: chosen at start (cluster/placement.py)
    subnet_pool: str = DEFAULT_SUBNET_POOL  # where an automatic pod subnet is looked for
    service_cidr: str = ""  # "" → the pod subnet's top quarter (service_cidr_for)
    cluster_domain: str = "cluster.local"
    dns_upstreams: tuple[str, ...] = ()  # IP[:PORT]s the cluster DNS forwards to; () → /etc/resolv.conf's
    manifests: tuple[str, ...] = ()  # applied at start and on every save (the dev loop; `up` gives "manifests")
    project_dir: Path | None = None  # where `manifests` are found; None → the current folder
    wait_seconds: float = 0.0  # > 0: `up --wait --timeout`: report ready once the app is, or why not
    view: bool = False  # the live status view (foreground `up` on a terminal)
    crashloop_base_seconds: float = 10.0  # Kubernetes' CrashLoopBackOff base (tests shorten it)
    heartbeat_seconds: float = 10.0
    node_grace_seconds: float = 40.0  # node-monitor-grace-period: no heartbeat this long → Unknown
    pod_eviction_seconds: float = -1.0  # ≥ 0: replaces the default 300 s not-ready/unreachable tolerations
    metric_resolution_seconds: float = 15.0  # how often container usage is sampled (metrics-server's default)
    hpa_sync_seconds: float = 15.0  # how often each HPA is reconciled (kube-controller-manager's default)
    encryption_provider_config: Path | None = None  # an EncryptionConfiguration file (Secrets at rest)
    snapshot_interval_seconds: float = 0.0  # > 0: a backup into STATE_DIR/snapshots this often (backup/schedule.py)
    snapshot_keep: int = 5  # the newest kept (k3s's --etcd-snapshot-retention default)

    @property
    def controllers(self) -> ControllerSettings:
        eviction = self.pod_eviction_seconds
        return ControllerSettings(self.node_grace_seconds, None if eviction < 0 else eviction,
                                  hpa_sync_seconds=self.hpa_sync_seconds)

    @property
    def service_range(self) -> str:
        return self.service_cidr or service_cidr_for(self.pod_subnet)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def own_kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"
