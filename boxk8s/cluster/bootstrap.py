"""What every cluster has from its first start: the system namespaces, the `kubernetes` and
`kube-dns` Services, the default IngressClass, and the cluster-scoped defaults of system_objects.py
(RBAC, StorageClass, PriorityClasses, APIServices)."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
from typing import Any

from boxk8s import errors
from boxk8s.client import Client, Kind
from boxk8s.client import metrics as metrics_api
from boxk8s.cluster.system_objects import ensure_system_objects
from boxk8s.proxy.ingress_plan import CLASS_NAME as INGRESS_CLASS
from boxk8s.proxy.ingress_plan import CONTROLLER as INGRESS_CONTROLLER
from boxk8s.proxy.ingress_plan import DEFAULT_CLASS_ANNOTATION
from boxk8s.resources import registry
from boxk8s.resources.allocate import nth_address
from boxk8s.resources.layer import Resources
from boxk8s.resources.meta import now_rfc3339
from boxk8s.resources.registry import ResourceType

DNS_NAMESPACE, DNS_SERVICE = "kube-system", "kube-dns"


async def bootstrap(resources: Resources) -> None:
    """Create what is missing (a restarted cluster keeps what it has)."""
    ns_rt = registry.find("", "v1", "namespaces")
    svc_rt = registry.find("", "v1", "services")
    assert ns_rt and svc_rt
    for name in registry.SYSTEM_NAMESPACES:
        with contextlib.suppress(errors.AlreadyExists):
            await resources.create(ns_rt, None, {
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
            })
    class_rt = registry.find("networking.k8s.io", "v1", "ingressclasses")
    assert class_rt
    with contextlib.suppress(errors.AlreadyExists):  # the default class, served by proxy/ingress.py
        await resources.create(class_rt, None, {
            "metadata": {"name": INGRESS_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "spec": {"controller": INGRESS_CONTROLLER},
        })
    cidr = resources.service_cidr
    with contextlib.suppress(errors.AlreadyExists):
        await resources.create(svc_rt, "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": nth_address(cidr, 1),
                "clusterIPs": [nth_address(cidr, 1)],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None",
            },
        })
    with contextlib.suppress(errors.AlreadyExists, errors.Invalid):  # Invalid: .10 taken by a Service asked for it
        await resources.create(svc_rt, DNS_NAMESPACE, {
            # As kubeadm's and kind's: the tenth address, no selector here (the DNS server is boxk8s
            # itself: proxy/dns_server.py, whose address publish_endpoints writes).
            "metadata": {"name": DNS_SERVICE, "labels": {
                "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": nth_address(cidr, 10),
                "clusterIPs": [nth_address(cidr, 10)],
                "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                          {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}],
                "sessionAffinity": "None",
            },
        })
    await ensure_system_objects(resources)
    await ensure_metrics_apiservice(resources)


async def ensure_metrics_apiservice(resources: Resources) -> None:
    """v1beta1.metrics.k8s.io, as `kubectl get apiservices` lists it where metrics-server runs;
    boxk8s serves the group itself (api/metrics.py), so it is Local and Available."""
    rt = registry.find("apiregistration.k8s.io", "v1", "apiservices")
    assert rt is not None
    client = Client(resources, "kube-apiserver")
    try:
        current = await client.get(rt, None, metrics_api.APISERVICE_NAME)
    except errors.NotFound:
        current = await client.create(rt, None, copy.deepcopy(metrics_api.APISERVICE))
    conditions = (current.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions):
        condition = {**metrics_api.APISERVICE_AVAILABLE, "lastTransitionTime": now_rfc3339()}
        await client.patch(rt, None, metrics_api.APISERVICE_NAME, {"status": {"conditions": [condition]}},
                           "merge", "status")


async def cluster_dns_ip(resources: Resources) -> str:
    """kube-dns's ClusterIP: the nameserver the kubelets give pods (their --cluster-dns)."""
    svc_rt = registry.find("", "v1", "services")
    assert svc_rt
    try:
        svc = await resources.get(svc_rt, DNS_NAMESPACE, DNS_SERVICE)
    except errors.NotFound:
        return ""
    ip = (svc.get("spec") or {}).get("clusterIP") or ""
    return "" if ip == "None" else str(ip)


async def publish_api_endpoints(resources: Resources, address: str, port: int) -> None:
    """The `kubernetes` Service's Endpoints and EndpointSlice name the API server, and its targetPort
    is the port the API listens on (the apiserver's own reconcilers: pkg/controlplane/reconcilers
    and controller/kubernetesservice, which also write these at start)."""
    client = Client(resources, "kube-apiserver")
    assert Kind.SERVICE
    service = await client.get(Kind.SERVICE, "default", "kubernetes")
    ports = service["spec"].get("ports") or []
    if any(p.get("name") == "https" and p.get("targetPort") != port for p in ports):
        new = copy.deepcopy(service)
        for p in new["spec"]["ports"]:
            if p.get("name") == "https":
                p["targetPort"] = port
        await client.update(Kind.SERVICE, new)
    await publish_endpoints(client, "default", "kubernetes", address, [{"name": "https", "port": port, "protocol": "TCP"}])


async def dns_port(resources: Resources) -> int:
    """The port kube-dns's endpoints named last (0: none), for the DNS server to take again."""
    client = Client(resources, "kube-apiserver")
    assert Kind.ENDPOINTSLICE
    try:
        found = await client.get(Kind.ENDPOINTSLICE, DNS_NAMESPACE, DNS_SERVICE)
    except errors.NotFound:
        return 0
    return next((int(p["port"]) for p in found.get("ports") or [] if p.get("port")), 0)


async def publish_dns_endpoints(resources: Resources, address: str, port: int) -> None:
    """kube-dns's Endpoints and EndpointSlice: the cluster DNS server (proxy/dns_server.py)."""
    await publish_endpoints(Client(resources, "kube-apiserver"), DNS_NAMESPACE, DNS_SERVICE, address, [
        {"name": "dns", "port": port, "protocol": "UDP"}, {"name": "dns-tcp", "port": port, "protocol": "TCP"}])


async def publish_endpoints(client: Client, namespace: str, name: str, address: str,
                            ports: list[dict[str, Any]]) -> None:
    """A selector-less Service's Endpoints and EndpointSlice: one address, these ports (for the
    Services whose server is boxk8s itself: the API and the cluster DNS)."""
    assert Kind.ENDPOINTS and Kind.ENDPOINTSLICE
    family = "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"
    await _upsert(client, Kind.ENDPOINTS, namespace, {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": address}], "ports": ports}],
    }, "subsets")
    await _upsert(client, Kind.ENDPOINTSLICE, namespace, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": family,
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": ports,
    }, "endpoints", "ports", "addressType")


async def _upsert(client: Client, rt: ResourceType, namespace: str, obj: dict[str, Any], *fields: str) -> None:
    """Create `obj`, or bring the stored one's `fields` to it."""
    try:
        current = await client.get(rt, namespace, obj["metadata"]["name"])
    except errors.NotFound:
        await client.create(rt, namespace, obj)
        return
    if all(current.get(f) == obj[f] for f in fields):
        return
    new = copy.deepcopy(current)
    new.update({f: obj[f] for f in fields})
    await client.update(rt, new)
