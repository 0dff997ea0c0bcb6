"""Assembly, second part: the scheduler, the controllers, the runtimes and kubelets, the service
proxy, the cluster DNS, the Ingress and the dev loop, built into the Components that
components.py made (the API's part). Importing this module imports them all, about half of the
start: `boxk8s up` does it on a thread while the API starts (components.assemble(defer=True))."""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from boxk8s import nodes as node_plan
from boxk8s.client import Client, Informer, Kind
from boxk8s.cluster.components import NODE_ADDRESS, Components, WorkloadOptions, host_address
from boxk8s.config import ClusterSettings
from boxk8s.controllers.manager import controller_name, default_controllers, with_required
from boxk8s.devloop.images import ImageRollouts
from boxk8s.devloop.view import StatusView
from boxk8s.devloop.wait import AppWaiter
from boxk8s.devloop.watch import DevLoop, log_report
from boxk8s.events import EventRecorder
from boxk8s.kubelet.agent import Kubelet
from boxk8s.kubelet.fake_usage import PodAnnotationUsage
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
from boxk8s.scheduler import Scheduler
from boxk8s.tls import ensure_ingress_certificate, issue_certificate

log = logging.getLogger(__name__)


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


def assemble_workloads(c: Components, options: WorkloadOptions) -> None:
    """Build the cluster's workload side into `c` (nothing started: supervise() starts it)."""
    settings, resources, factory = c.settings, c.resources, c.informers
    ca_pem = c.credentials.ca_pem if c.credentials is not None else b""
    if options.scheduler:
        client = Client(resources, "default-scheduler")
        c.scheduler = Scheduler(client, EventRecorder(client, "default-scheduler"), pods=c.pod_informer, nodes=c.node_informer)
    planned = node_plan.plan_nodes(settings, node_plan.host_resources()) if options.nodes is None else options.nodes
    # The root CA publisher runs with the controller manager, and in narrowed clusters whose pods run
    # (their token volume projects kube-root-ca.crt); an API-only test cluster keeps its namespaces bare.
    publish_ca = options.controllers is None or bool(planned)
    makers = with_required(default_controllers(settings.controllers, c.metrics) if options.controllers is None
                           else options.controllers, root_ca_pem=ca_pem if publish_ca else b"")
    c.controllers = [make(Client(resources, controller_name(make)), factory) for make in makers]

    if planned:
        name = node_plan.cluster_name(settings.state_dir, settings.cluster_name)
        addresses = PodAddresses(settings.pod_subnet)  # the fixed pod IPs: one book for all Docker nodes (one network)
        fake_ips = pod_ips(settings.pod_subnet, from_top=any(not n.fake for n in planned))  # one for all simulated nodes
        for node in planned:
            rs = RuntimeSettings(cluster=name, node=node.name, pod_subnet=settings.pod_subnet,
                                 state_dir=settings.state_dir)
            c.runtimes[node.name] = _runtime(node, rs, addresses, fake_ips, c.pod_informer)
    docker = _docker_runtime(c)
    if docker is not None:  # the host's address on the cluster network: pods reach the API and the DNS there
        c.gateway = lambda: docker.gateway
    if options.proxy:  # before the kubelets: whether pods get the cluster DNS depends on it
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
            Client(resources, "kubelet"), c.runtimes[node.name], node, options.kubelet or kubelet_settings(settings, cluster_dns),
            settings.state_dir, address=NODE_ADDRESS, pods=c.pod_informer, services=factory.informer(Kind.SERVICE))

    if options.proxy:
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
