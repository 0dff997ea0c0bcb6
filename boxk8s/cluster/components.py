"""Assembly: every component of one cluster built and wired, nothing started yet.

`assemble()` is the one place components are wired together; the cluster and the integration
tests both use it, so what the tests run is what `boxk8s up` runs. It opens the store (its
closing goes on the caller's exit stack) and constructs the rest; `supervisor.supervise()`
starts them in order.

Two parts, so that `boxk8s up` answers sooner: this module builds what the API needs (the store,
the resource layer, the credentials, the shared informers, the API itself) and imports only that;
workloads.py builds the rest (scheduler, controllers, runtimes, kubelets, proxy, DNS, Ingress, dev
loop), whose imports are a third of the start. With `defer`, those are imported once the API
listens (`Components.pending`, which supervise() awaits), on a thread so that the API answers
meanwhile; a real apiserver too answers before its controller manager and kubelets run. Importing
them on a thread from the start instead, beside the store's opening and the bootstrap, measured no
faster: the two share one interpreter lock. Without `defer` (the tests), assemble() builds everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from boxk8s.api.app import ApiSettings, build_app
from boxk8s.api.auth.filter import Security
from boxk8s.api.server import ApiServer
from boxk8s.client import Client, Informer, InformerFactory, Kind
from boxk8s.client.workqueue import WorkQueue
from boxk8s.config import ClusterSettings
from boxk8s.controllers import Controller, ControllerFactory
from boxk8s.kubelet.metrics import MetricsSampler
from boxk8s.kubelet.runtime import ContainerRuntime
from boxk8s.kubelet.streams import KubeletStreams
from boxk8s.resources.allocate import nth_address
from boxk8s.resources.apiserver_admission import apiserver_admission
from boxk8s.resources.layer import Resources
from boxk8s.resources.serviceaccount_token import TokenIssuer
from boxk8s.store import Store, StoreSettings
from boxk8s.store.transform import PLAIN, ValueTransformer
from boxk8s.tls import Credentials, ensure_credentials, ensure_service_account_key

if TYPE_CHECKING:  # imported by workloads.py, after the API listens
    from boxk8s.backup.schedule import SnapshotSchedule  # imported only when asked for (_snapshots)
    from boxk8s.devloop.images import ImageRollouts
    from boxk8s.devloop.view import StatusView
    from boxk8s.devloop.wait import AppWaiter
    from boxk8s.devloop.watch import DevLoop
    from boxk8s.kubelet.agent import Kubelet
    from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
    from boxk8s.proxy.cluster_ip import ClusterIpProxy
    from boxk8s.proxy.dns_server import ClusterDns
    from boxk8s.proxy.ingress import IngressController
    from boxk8s.proxy.proxy import ServiceProxy
    from boxk8s.scheduler import Scheduler

log = logging.getLogger(__name__)

NODE_ADDRESS = "127.0.0.1"  # every node's InternalIP (pods' hostIP): the one machine
WORKLOADS = "boxk8s.cluster.workloads"


@dataclass(frozen=True)
class WorkloadOptions:
    """How the tests narrow a cluster (assemble()'s keyword arguments): `controllers` (None: the
    controller manager's), `nodes` (None: planned from the settings and the host), the kubelets'
    settings, whether a scheduler runs and whether the proxy, DNS and Ingress do."""

    controllers: Sequence[ControllerFactory] | None = None
    nodes: Sequence[NodeSettings] | None = None
    kubelet: KubeletSettings | None = None
    scheduler: bool = True
    proxy: bool = True


@dataclass
class Components:
    """One cluster's parts, in the order supervise() starts them."""

    settings: ClusterSettings
    store: Store
    resources: Resources
    informers: InformerFactory  # shared by the scheduler, the controllers and the kubelets
    node_informer: Informer  # the kubelets' simulated stops view it
    pod_informer: Informer  # every kubelet and the scheduler view this one
    runtimes: dict[str, ContainerRuntime]  # by node name; started by the supervisor, one after the other
    api: ApiServer | None = None
    credentials: Credentials | None = None  # the API's CA, certificate and token (the root CA publisher's CA)
    scheduler: Scheduler | None = None
    controllers: list[Controller] = field(default_factory=list)
    kubelets: dict[str, Kubelet] = field(default_factory=dict)
    proxy: ServiceProxy | None = None
    ingress: IngressController | None = None
    cluster_ip: ClusterIpProxy | None = None  # in-cluster Service routing (needs a Docker node)
    dns: ClusterDns | None = None  # the cluster DNS, on the host's address on the cluster network
    gateway: Callable[[], str] | None = None  # that address, known once the Docker runtime started
    image_rollouts: ImageRollouts | None = None  # a rebuilt local image tag rolls out its workloads
    devloop: DevLoop | None = None  # the project's manifests, applied and kept converged
    view: StatusView | None = None  # the live status view of a foreground `up`
    waiter: AppWaiter | None = None  # `up --wait`: is the app ready (its informers asked for before they run)
    metrics: MetricsSampler | None = None  # every node's container usage: metrics.k8s.io and the HPAs read it
    snapshots: SnapshotSchedule | None = None  # `up --snapshot-interval`: backups into STATE_DIR/snapshots
    # The rest of the assembly (workloads.py), when it waits for the API to listen; supervise() awaits it.
    pending: Callable[[], Awaitable[None]] | None = None


def host_address(host: str) -> str:
    """The IP the host's listeners (the API, NodePorts, load balancers) are reached at: the listen
    address, or the node's when they listen on all addresses or were given a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return NODE_ADDRESS
    return NODE_ADDRESS if ip.is_unspecified else str(ip)


def api_hosts(settings: ClusterSettings, gateway: str = "") -> list[str]:
    """The names the API's certificate is for, beyond tls.DEFAULT_HOSTS: its listen address, the
    `kubernetes` Service's ClusterIP and in-cluster name, and the host's address on the cluster
    network (where pods reach it: `gateway`, once known)."""
    hosts = [] if settings.host in ("0.0.0.0", "::") else [settings.host]
    hosts += [nth_address(settings.service_range, 1), f"kubernetes.default.svc.{settings.cluster_domain}"]
    return hosts + ([gateway] if gateway else [])


def token_issuer(settings: ClusterSettings) -> TokenIssuer:
    """The ServiceAccount token issuer, as kubeadm configures it: --service-account-issuer
    https://kubernetes.default.svc.<domain>, the API audiences the same."""
    issuer = f"https://kubernetes.default.svc.{settings.cluster_domain}"
    return TokenIssuer(ensure_service_account_key(settings.state_dir), issuer, (issuer,))


def workqueues(c: Components) -> list[WorkQueue]:
    """The work queues of the scheduler and the controllers (/metrics' workqueue_* metrics)."""
    owners: list[object] = [c.scheduler, *c.controllers]
    return [q for owner in owners if owner is not None for q in vars(owner).values() if isinstance(q, WorkQueue)]


def encryption_transformer(settings: ClusterSettings) -> ValueTransformer:
    """The store's transformer: the --encryption-provider-config file's providers, or plain JSON."""
    if settings.encryption_provider_config is None:
        return PLAIN
    from boxk8s.store.encryption import load_encryption_config

    return load_encryption_config(settings.encryption_provider_config)


async def assemble(settings: ClusterSettings, stack: contextlib.AsyncExitStack, *,
                   controllers: Sequence[ControllerFactory] | None = None,
                   nodes: Sequence[NodeSettings] | None = None,
                   kubelet: KubeletSettings | None = None,
                   scheduler: bool = True,
                   serve_api: bool = True,
                   proxy: bool = True,
                   defer: bool = False) -> Components:
    """Build one cluster. Tests narrow it (WorkloadOptions) and say whether the HTTPS API listens;
    `defer` leaves the workloads to `Components.pending` (see the module's docstring)."""
    c = await _assemble_core(settings, stack, serve_api)
    options = WorkloadOptions(controllers, nodes, kubelet, scheduler, proxy)

    async def build_workloads() -> None:
        # On a thread when deferred: the API keeps answering while the workloads are imported.
        workloads: ModuleType = (await asyncio.to_thread(importlib.import_module, WORKLOADS) if defer
                                 else importlib.import_module(WORKLOADS))
        c.pending = None
        workloads.assemble_workloads(c, options)

    if defer:
        c.pending = build_workloads
    else:
        await build_workloads()
    return c


def _snapshots(settings: ClusterSettings) -> SnapshotSchedule | None:
    """`up --snapshot-interval`: the schedule of backups into STATE_DIR/snapshots."""
    if settings.snapshot_interval_seconds <= 0:
        return None
    from boxk8s import nodes
    from boxk8s.backup.schedule import SnapshotSchedule

    return SnapshotSchedule(settings.state_dir, nodes.cluster_name(settings.state_dir, settings.cluster_name),
                            settings.snapshot_interval_seconds, settings.snapshot_keep)


async def _assemble_core(settings: ClusterSettings, stack: contextlib.AsyncExitStack, serve_api: bool) -> Components:
    """The store, the resource layer, the credentials, the shared informers, the metrics sampler (it
    reads the runtimes the workloads add) and the API (its streams find the kubelets added later)."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(StoreSettings(
        path=settings.db_path, compaction_interval=settings.compaction_interval,
        compaction_keep=settings.compaction_keep,
    ), transformer=encryption_transformer(settings))
    stack.push_async_callback(store.close)
    resources = Resources(store, service_cidr=settings.service_range, admission=apiserver_admission())
    stack.push_async_callback(resources.admission.aclose)
    resources.token_issuer = token_issuer(settings)
    credentials = ensure_credentials(settings.state_dir, api_hosts(settings))
    factory = InformerFactory(Client(resources, "kube-controller-manager"))
    c = Components(settings, store, resources, factory, factory.informer(Kind.NODE), factory.informer(Kind.POD),
                   runtimes={}, credentials=credentials)
    # Sampled while they run, the runtimes filled in by the workloads (the sampler reads the mapping at each round).
    c.metrics = MetricsSampler(c.runtimes, settings.metric_resolution_seconds)
    c.snapshots = _snapshots(settings)
    if serve_api:
        host = settings.host
        security = Security.with_rbac(credentials.token, resources.token_issuer, factory)
        app = build_app(resources, ApiSettings(host=host, port=settings.port, token=credentials.token),
                        streams=KubeletStreams(c.kubelets), metrics=c.metrics, security=security,
                        unsynced=factory.unsynced, workqueues=lambda: workqueues(c))
        c.api = ApiServer(app, host, settings.port, credentials.server_ssl_context(),
                          fallback="api" in settings.port_fallback)
    return c
