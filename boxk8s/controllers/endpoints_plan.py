"""What a Service's Endpoints and EndpointSlices should hold, as pure functions over plain data.

Upstream: pkg/controller/endpoint (syncService, addEndpointSubset, endpoints.RepackSubsets),
pkg/controller/endpointslice (reconciler, podToEndpoint, getEndpointPorts) and the helpers they
share in pkg/controller/util/endpoint and staging/.../endpointslice/util (ShouldPodBeInEndpoints,
ShouldSetHostname) and pkg/api/v1/pod (FindPort).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boxk8s.controllers.podutil import is_pod_ready

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MAX_ENDPOINTS_PER_SLICE = 100  # the controller's --max-endpoints-per-slice default


def selects(service: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """A Service's selector is a plain label map; a Service without one has no managed endpoints."""
    selector = (service.get("spec") or {}).get("selector") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def is_headless(service: Mapping[str, Any]) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """FindPort: a numbered targetPort as is; a named one from the pod's container ports of the same
    protocol (sidecar init containers too); None when no container declares it."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for c in list(spec.get("containers") or []) + sidecars:
        for p in c.get("ports") or []:
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                return int(p["containerPort"])
    return None


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: not finished, has an IP, and (unless asked) not terminating."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def _hostname(pod: Mapping[str, Any], service: Mapping[str, Any]) -> str | None:
    """ShouldSetHostname: the pod's hostname when its subdomain is this Service (in its namespace)."""
    spec = pod.get("spec") or {}
    same_ns = (pod.get("metadata") or {}).get("namespace") == (service.get("metadata") or {}).get("namespace")
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"] and same_ns:
        return str(spec["hostname"])
    return None


def _target_ref(pod: Mapping[str, Any]) -> Obj:
    md = pod["metadata"]
    return {"kind": "Pod", "namespace": md.get("namespace"), "name": md["name"], "uid": md.get("uid")}


def _endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    """getEndpointPorts: every Service port whose target the pod has, with its number on the pod."""
    ports = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    return ports


# --- Endpoints (v1) ----------------------------------------------------------------------------------

def _ip_key(ip: str) -> tuple[int, Any]:
    try:
        return (0, ipaddress.ip_address(ip))
    except ValueError:
        return (1, ip)


def _port_key(port: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(port.get("name") or ""), int(port.get("port") or 0), str(port.get("protocol") or ""))


def plan_endpoints_subsets(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """syncService's subsets, repacked (RepackSubsets): addresses grouped by identical port sets,
    ready ones in `addresses`, the others in `notReadyAddresses`, sorted as upstream sorts them."""
    spec = service.get("spec") or {}
    tolerate_unready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = spec.get("ports") or []
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}

    def add(address: Obj, ports: list[Obj], ready: bool) -> None:
        key = tuple(sorted(_port_key(p) for p in ports))
        ready_list, not_ready, _ports = groups.setdefault(key, ([], [], ports))
        (ready_list if ready else not_ready).append(address)

    for pod in pods:
        if not should_pod_be_in_endpoints(pod, tolerate_unready):
            continue
        address: Obj = {"ip": pod["status"]["podIP"], "targetRef": _target_ref(pod)}
        if (pod.get("spec") or {}).get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        hostname = _hostname(pod, service)
        if hostname:
            address["hostname"] = hostname
        ready = tolerate_unready or is_pod_ready(dict(pod))
        if not service_ports:
            if is_headless(service):  # a headless Service without ports still lists its pods
                add(address, [], ready)
            continue
        for port in _endpoint_ports(service, pod):
            add(dict(address), [port], ready)

    subsets = []
    for ready_list, not_ready, ports in groups.values():
        subset: Obj = {}
        if ready_list:
            subset["addresses"] = _dedupe_sorted(ready_list)
        if not_ready:
            subset["notReadyAddresses"] = _dedupe_sorted(not_ready)
        if ports:
            subset["ports"] = sorted(ports, key=_port_key)
        subsets.append(subset)
    return _merge_same_addresses(subsets)


def _dedupe_sorted(addresses: list[Obj]) -> list[Obj]:
    seen: dict[tuple[str, str], Obj] = {}
    for a in addresses:
        seen.setdefault((a["ip"], str((a.get("targetRef") or {}).get("uid") or "")), a)
    return sorted(seen.values(), key=lambda a: (_ip_key(a["ip"]), a["targetRef"].get("name", "")))


def _merge_same_addresses(subsets: list[Obj]) -> list[Obj]:
    """RepackSubsets' second half: subsets whose addresses are the same share one entry with all
    their ports (a Service with two ports gives one subset with both, not two)."""
    by_addresses: dict[str, Obj] = {}
    for s in subsets:
        key = repr((s.get("addresses"), s.get("notReadyAddresses")))
        if key in by_addresses:
            merged = by_addresses[key]
            merged["ports"] = sorted(merged.get("ports", []) + s.get("ports", []), key=_port_key)
        else:
            by_addresses[key] = dict(s)
    out = list(by_addresses.values())
    out.sort(key=lambda s: [_ip_key(a["ip"]) for a in s.get("addresses", []) + s.get("notReadyAddresses", [])])
    return out


def endpoints_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """The Service's labels, plus the headless marker on a headless Service's Endpoints."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


# --- EndpointSlices (discovery.k8s.io/v1) ------------------------------------------------------------

def pod_to_endpoint(pod: Mapping[str, Any], service: Mapping[str, Any]) -> Obj:
    """podToEndpoint: ready = serving and not terminating (or publishNotReadyAddresses)."""
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = publish or is_pod_ready(dict(pod))
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                       "terminating": terminating},
        "targetRef": _target_ref(pod),
    }
    if (pod.get("spec") or {}).get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    hostname = _hostname(pod, service)
    if hostname:
        endpoint["hostname"] = hostname
    return endpoint


@dataclass(frozen=True)
class SliceContent:
    """One desired slice: its ports and endpoints (sorted, so equal content compares equal)."""

    ports: tuple[tuple[str, int, str], ...]
    endpoints: tuple[Obj, ...]

    def ports_json(self) -> list[Obj]:
        return [{"name": n, "port": p, "protocol": proto} for n, p, proto in self.ports]


def desired_slices(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
                   max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> list[SliceContent]:
    """The reconciler's desired state: endpoints grouped by their port set, at most
    `max_per_slice` to a slice. Terminating pods stay in, marked (ShouldPodBeInEndpoints(pod, true))."""
    groups: dict[tuple[tuple[str, int, str], ...], list[Obj]] = {}
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, True):
            continue
        ports = tuple(sorted(_port_key(p) for p in _endpoint_ports(service, pod)))
        groups.setdefault(ports, []).append(pod_to_endpoint(pod, service))
    out: list[SliceContent] = []
    for ports, endpoints in sorted(groups.items()):
        endpoints.sort(key=lambda e: (_ip_key(e["addresses"][0]), e["targetRef"]["name"]))
        for i in range(0, len(endpoints), max_per_slice):
            out.append(SliceContent(ports, tuple(endpoints[i:i + max_per_slice])))
    return out


def slice_content(slice_: Mapping[str, Any]) -> SliceContent:
    ports = tuple(sorted(_port_key(p) for p in slice_.get("ports") or []))
    endpoints = sorted(slice_.get("endpoints") or [],
                       key=lambda e: (_ip_key((e.get("addresses") or [""])[0]), (e.get("targetRef") or {}).get("name", "")))
    return SliceContent(ports, tuple(endpoints))


@dataclass
class SlicePlan:
    """What to write: slices to create (content), to update (existing name → content), to delete."""

    create: list[SliceContent] = field(default_factory=list)
    update: dict[str, SliceContent] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


def plan_slices(desired: list[SliceContent], existing: list[Mapping[str, Any]],
                labels_current: bool = True) -> SlicePlan:
    """Reuse existing slices where they can hold desired content (the same port set first, then any),
    leaving unchanged ones alone; create what is left over and delete what is not needed.
    `labels_current`: False forces every kept slice to be rewritten (its labels are out of date)."""
    plan = SlicePlan()
    remaining = list(desired)
    unused: list[Mapping[str, Any]] = []
    # slices whose content is already right stay untouched
    for s in sorted(existing, key=lambda s: s["metadata"]["name"]):
        content = slice_content(s)
        if content in remaining:
            remaining.remove(content)
            if not labels_current:
                plan.update[s["metadata"]["name"]] = content
        else:
            unused.append(s)
    # then reuse a slice of the same port set, then any slice, before creating new ones
    for want in list(remaining):
        match = next((s for s in unused if slice_content(s).ports == want.ports), None) or (unused[0] if unused else None)
        if match is None:
            continue
        unused.remove(match)
        remaining.remove(want)
        plan.update[match["metadata"]["name"]] = want
    plan.create = remaining
    plan.delete = [s["metadata"]["name"] for s in unused]
    return plan


def slice_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """setEndpointSliceLabels: the Service's labels, its name, the managing controller, headless marker."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels
