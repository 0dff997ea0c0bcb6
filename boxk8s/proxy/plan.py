"""Which host ports boxk8s listens on for Services, and where each one leads: a pure function.

Services + EndpointSlices → host routes. A NodePort Service listens on each port's `nodePort`; a
LoadBalancer Service also on its own `port`, as k3s's servicelb does (ServiceLB publishes the
Service port on the node). A route's backends are the Ready endpoints of the Service's slices for
that port, as kube-proxy reads them (pkg/proxy/endpointslicecache: only `ready` endpoints serve
new connections; terminating ones get none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.resources.endpoint_slices import SERVICE_NAME_LABEL, ready_backends

__all__ = ["SERVICE_NAME_LABEL", "Route", "load_balancer_status", "plan_host_ports", "ready_backends",
           "service_key", "slices_by_service"]


@dataclass(frozen=True)
class Route:
    """Where connections to one host port go."""

    service: str  # namespace/name
    port_name: str
    backends: tuple[tuple[str, int], ...]  # (pod IP, port), sorted
    client_ip_affinity: bool = False


def service_key(obj: Mapping[str, Any]) -> str:
    md = obj["metadata"]
    return f"{md.get('namespace', '')}/{md['name']}"


def slices_by_service(slices: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """EndpointSlices grouped by the Service they belong to (namespace/name)."""
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for s in slices:
        name = ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if name:
            by_service.setdefault(f"{s['metadata'].get('namespace', '')}/{name}", []).append(s)
    return by_service


def plan_host_ports(services: Iterable[Mapping[str, Any]],
                    slices: Iterable[Mapping[str, Any]]) -> dict[int, Route]:
    """Host port → route, for every TCP port of every NodePort and LoadBalancer Service.

    Two Services cannot both have a nodePort (the allocator sees to it); a LoadBalancer's own port
    that another Service already holds goes to the first in name order, as servicelb's first
    pod to bind it would win."""
    by_service = slices_by_service(slices)
    routes: dict[int, Route] = {}
    for svc in sorted(services, key=service_key):
        spec = svc.get("spec") or {}
        kind = spec.get("type") or "ClusterIP"
        if kind not in ("NodePort", "LoadBalancer"):
            continue
        key = service_key(svc)
        affinity = spec.get("sessionAffinity") == "ClientIP"
        for port in spec.get("ports") or []:
            if (port.get("protocol") or "TCP") != "TCP":
                continue  # UDP and SCTP are not proxied on the host (README: Limits)
            name = port.get("name") or ""
            route = Route(key, name, ready_backends(by_service.get(key, []), name), affinity)
            if port.get("nodePort"):
                routes.setdefault(int(port["nodePort"]), route)
            if kind == "LoadBalancer" and port.get("port"):
                routes.setdefault(int(port["port"]), route)
    return routes


def load_balancer_status(service: Mapping[str, Any], address: str, bound: bool) -> dict[str, Any]:
    """status.loadBalancer of a LoadBalancer Service: the host's address once its ports listen."""
    return {"ingress": [{"ip": address, "ipMode": "VIP"}]} if bound else {}
