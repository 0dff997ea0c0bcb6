"""Assembly: every component of one cluster built and wired, nothing started yet.

`assemble()` is the one place components are wired together; the cluster and the integration
tests both use it, so what the tests run is what `boxk8s up` runs. It opens the store (its
closing goes on the caller's exit stack) and constructs the rest; `supervisor.supervise()`
starts them in order.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boxk8s import nodes as node_plan
from boxk8s.api.app import ApiSettings, build_app
from boxk8s.api.auth.filter import Security
from boxk8s.api.server import ApiServer
from boxk8s.client import Client, Informer, InformerFactory, Kind
from boxk8s.client.workqueue import WorkQueue
from boxk8s.config import ClusterSettings
from boxk8s.controllers import (
    Controller,
    ControllerFactory,
    controller_name,
    default_controllers,
    with_required,
)
from boxk8s.devloop.images import ImageRollouts
from boxk8s.devloop.view import StatusView
from boxk8s.devloop.wait import AppWaiter
from boxk8s.devloop.watch import DevLoop, log_report
from boxk8s.events import EventRecorder
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.fake_usage import PodAnnotationUsage
from boxk8s.kubelet.metrics import MetricsSampler
from boxk8s.kubelet.runtime import ContainerRuntime, RuntimeSettings
from boxk8s.kubelet.runtime.addresses import PodAddresses
from boxk8s.kubelet.runtime.fake import FakeRuntime, pod_ips
from boxk8s.kubelet.settings import KubeletSettings, NodeSettings
from boxk8s.kubelet.streams import KubeletStreams
from boxk8s.proxy.cluster_ip import ClusterIpProxy
from boxk8s.proxy.dns_server import ClusterDns, InformerView, host_upstreams
from boxk8s.proxy.ingress import IngressController
from boxk8s.proxy.ingress_tls import Certificates
from boxk8s.proxy.listeners import HostListeners
from boxk8s.proxy.proxy import ServiceProxy
from boxk8s.resources.allocate import nth_address
from boxk8s.resources.apiserver_admission import apiserver_admission
from boxk8s.resources.layer import Resources
from boxk8s.resources.serviceaccount_token import TokenIssuer
from boxk8s.scheduler import Scheduler
from boxk8s.store import Store, StoreSettings
from boxk8s.tls import (
    Credentials,
    ensure_credentials,
    ensure_ingress_certificate,
    ensure_service_account_key,
    issue_certificate,
)

log = logging.getLogger(__name__)

NODE_ADDRESS = "127.0.0.1"  # every node's InternalIP (pods' hostIP): the one machine


@dataclass
class Components:
    """One cluster's parts, in the order supervise() starts them."""

    settings: ClusterSettings
    store: Store
    resources: Resources
    informers: InformerFactory  # shared by the scheduler, the controllers and the kubelets
    node_informer: Informer  # the kubelets' simulated stops view it
    runtimes: dict[str, ContainerRuntime]  # by node name; started by the supervisor, one after the other
    api: ApiServer | None = None
    credentials: Credentials | None = None  # with the API: its CA, certificate and token
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


def kubelet_settings(settings: ClusterSettings, cluster_dns: tuple[str, ...] = ()) -> KubeletSettings:
    """The kubelets' settings; `cluster_dns` is their --cluster-dns (kube-dns's ClusterIP, when boxk8s
    serves cluster DNS)."""
    base = settings.crashloop_base_seconds
    return KubeletSettings(crashloop_base_seconds=base, image_backoff_base_seconds=base,
                           cluster_dns=cluster_dns, cluster_domain=settings.cluster_domain)


def _runtime(node: NodeSettings, settings: RuntimeSettings, addresses: PodAddresses,
             fake_ips: Iterator[Any], pods: Informer) -> ContainerRuntime:
    if node.fake:  # simulated usage: the pods' annotations, else their requests (kubelet/fake_usage.py)
        return FakeRuntime(settings, ips=fake_ips, usage=PodAnnotationUsage(pods))
    from boxk8s.kubelet.runtime.docker import (
        DockerRuntime,  # only when Docker nodes exist: aiodocker is slow to import
    )

    return DockerRuntime(settings, addresses=addresses)


def dns_upstreams(given: Sequence[str]) -> list[tuple[str, int]]:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` → (ip, port); none given → the host's /etc/resolv.conf nameservers."""
    if not given:
        return host_upstreams()
    out = []
    for text in given:
        host, port = text, 53
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest.removeprefix(":") or 53)
        elif text.count(":") == 1:
            host, _, number = text.partition(":")
            port = int(number)
        out.append((str(ipaddress.ip_address(host)), port))
    return out


def workqueues(c: Components) -> list[WorkQueue]:
    """The work queues of the scheduler and the controllers (/metrics' workqueue_* metrics)."""
    owners: list[Any] = [c.scheduler, *c.controllers]
    return [q for owner in owners if owner is not None for q in vars(owner).values() if isinstance(q, WorkQueue)]


def _docker_runtime(c: Components) -> ContainerRuntime | None:
    """The runtime of the Docker nodes (they share one network), if any: the only one whose pods
    are on a real network."""
    return next((r for r in c.runtimes.values() if not r.simulated_network), None)


def _cluster_ip_proxy(c: Components, docker: ContainerRuntime) -> ClusterIpProxy | None:
    """The ClusterIP proxy over the cluster's network agent on the Docker nodes' network, when the
    host has the tools the agent is made of."""
    from boxk8s.kubelet.runtime.docker import DockerRuntime  # imported already: the runtime is one

    assert isinstance(docker, DockerRuntime)
    from boxk8s.kubelet.runtime.netagent import DockerNetworkAgent, NetworkAgentUnavailable
    from boxk8s.kubelet.runtime.netagent_image import TOOLS, find_tool

    try:
        for tool in TOOLS:
            find_tool(tool)
    except NetworkAgentUnavailable as exc:
        log.warning("in-cluster Service routing is off: %s", exc)
        return None
    return ClusterIpProxy(c.informers, DockerNetworkAgent(docker, c.settings.service_range))


async def assemble(settings: ClusterSettings, stack: contextlib.AsyncExitStack, *,
                   controllers: Sequence[ControllerFactory] | None = None,
                   nodes: Sequence[NodeSettings] | None = None,
                   kubelet: KubeletSettings | None = None,
                   scheduler: bool = True,
                   serve_api: bool = True,
                   proxy: bool = True) -> Components:
    """Build one cluster. Tests narrow it: `controllers` (default: the controller manager's),
    `nodes` (default: planned from the settings and the host), the kubelets' settings, whether a
    scheduler runs and whether the HTTPS API listens."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(StoreSettings(
        path=settings.db_path, compaction_interval=settings.compaction_interval,
        compaction_keep=settings.compaction_keep,
    ))
    stack.push_async_callback(store.close)
    resources = Resources(store, service_cidr=settings.service_range, admission=apiserver_admission())
    resources.token_issuer = token_issuer(settings)
    c_credentials = ensure_credentials(settings.state_dir, api_hosts(settings))
    factory = InformerFactory(Client(resources, "kube-controller-manager"))
    shared_pods = factory.informer(Kind.POD)  # every kubelet and the scheduler view this one
    shared_nodes = factory.informer(Kind.NODE)  # and this one
    c = Components(settings, store, resources, factory, shared_nodes, runtimes={})
    # Sampled while they run, the runtimes filled in below (the sampler reads the mapping at each round).
    c.metrics = MetricsSampler(c.runtimes, settings.metric_resolution_seconds)

    if scheduler:
        client = Client(resources, "default-scheduler")
        c.scheduler = Scheduler(client, EventRecorder(client, "default-scheduler"), pods=shared_pods, nodes=shared_nodes)
    planned = node_plan.plan_nodes(settings, node_plan.host_resources()) if nodes is None else nodes
    # The root CA publisher runs with the controller manager, and in narrowed clusters whose pods run
    # (their token volume projects kube-root-ca.crt); an API-only test cluster keeps its namespaces bare.
    publish_ca = controllers is None or bool(planned)
    makers = with_required(default_controllers(settings.controllers, c.metrics) if controllers is None
                           else controllers, root_ca_pem=c_credentials.ca_pem if publish_ca else b"")
    c.controllers = [make(Client(resources, controller_name(make)), factory) for make in makers]

    if planned:
        name = node_plan.cluster_name(settings.state_dir, settings.cluster_name)
        addresses = PodAddresses(settings.pod_subnet)  # the fixed pod IPs: one book for all Docker nodes (one network)
        fake_ips = pod_ips(settings.pod_subnet, from_top=any(not n.fake for n in planned))  # one for all simulated nodes
        for node in planned:
            rs = RuntimeSettings(cluster=name, node=node.name, pod_subnet=settings.pod_subnet,
                                 state_dir=settings.state_dir)
            c.runtimes[node.name] = _runtime(node, rs, addresses, fake_ips, shared_pods)
    docker = _docker_runtime(c)
    if docker is not None:  # the host's address on the cluster network: pods reach the API and the DNS there
        c.gateway = lambda: docker.gateway
    if proxy:  # before the kubelets: whether pods get the cluster DNS depends on it
        c.cluster_ip = _cluster_ip_proxy(c, docker) if docker is not None else None
        if c.cluster_ip is not None:
            c.dns = ClusterDns(InformerView(factory.informer(Kind.SERVICE), factory.informer(Kind.ENDPOINTSLICE),
                                            factory.informer(Kind.NAMESPACE)),
                               "", domain=settings.cluster_domain, upstreams=dns_upstreams(settings.dns_upstreams))
    if docker is not None:
        c.image_rollouts = ImageRollouts(Client(resources, ImageRollouts.name), factory, docker.image_events)
    # kube-dns's ClusterIP: bootstrap asks for the range's tenth address, as kubeadm does.
    cluster_dns = (nth_address(settings.service_range, 10),) if c.dns else ()
    for node in planned:
        c.kubelets[node.name] = Kubelet(
            Client(resources, "kubelet"), c.runtimes[node.name], node, kubelet or kubelet_settings(settings, cluster_dns),
            settings.state_dir, address=NODE_ADDRESS, pods=shared_pods, services=factory.informer(Kind.SERVICE))

    if proxy:
        client = Client(resources, ServiceProxy.name)
        c.proxy = ServiceProxy(client, factory, HostListeners(settings.host), host_address(settings.host))
        if settings.ingress_port:
            certificates = None
            if settings.ingress_tls_port:
                cert, key = ensure_ingress_certificate(settings.state_dir)
                certificates = Certificates(
                    cert, key, settings.state_dir / "ingress-tls",
                    issue=lambda host: issue_certificate(settings.state_dir, [host], "boxk8s-ingress"))
            c.ingress = IngressController(Client(resources, IngressController.name), factory, settings.host,
                                          settings.ingress_port, host_address(settings.host),
                                          tls_port=settings.ingress_tls_port, certificates=certificates,
                                          fallback=settings.port_fallback)
    if settings.manifests:
        project = settings.project_dir or Path.cwd()
        c.view = StatusView(factory, sys.stdout, live=sys.stdout.isatty()) if settings.view else None
        view = c.view
        paths = [Path(m) if settings.project_dir is None else project / m for m in settings.manifests]
        c.devloop = DevLoop(Client(resources, "boxk8s"), paths,
                            project_name=project.resolve().name,
                            report=(lambda r: [view.reload(line) for line in r.lines()]) if view else log_report)
    if settings.wait_seconds:
        loop = c.devloop
        members = (lambda: [(k.kind, k.namespace, k.name) for k in loop.state.members()]) if loop else None
        c.waiter = AppWaiter(Client(resources, "boxk8s"), factory, KubeletStreams(c.kubelets), members)
    if serve_api:
        host = settings.host
        c.credentials = c_credentials
        assert resources.token_issuer is not None
        security = Security.with_rbac(c_credentials.token, resources.token_issuer, factory)
        app = build_app(resources, ApiSettings(host=host, port=settings.port, token=c_credentials.token),
                        streams=KubeletStreams(c.kubelets), metrics=c.metrics, security=security,
                        unsynced=factory.unsynced, workqueues=lambda: workqueues(c))
        c.api = ApiServer(app, host, settings.port, c.credentials.server_ssl_context(),
                          fallback="api" in settings.port_fallback)
    return c
