"""Service ClusterIP and NodePort allocation, as the apiserver does on create and keeps on update."""

from __future__ import annotations

import ipaddress
from typing import Any

from boxk8s import errors
from boxk8s.config import service_cidr_for

DEFAULT_SERVICE_CIDR = service_cidr_for("10.244.0.0/16")
NODE_PORT_RANGE = range(30000, 32768)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def static_band(cidr: Network) -> int:
    """How many low addresses dynamic allocation leaves for ClusterIPs asked for by value (the
    `kubernetes` Service's .1, kube-dns's .10): KEP-3070, upstream's ipallocator
    `calculateRangeOffset` — a sixteenth of the range, at least 16 and at most 256."""
    size = cidr.num_addresses
    if size <= 16:  # a /28 or smaller: no band
        return 0
    return min(max(16, size // 16), 256)


def nth_address(cidr: str, n: int) -> str:
    """The n-th address of a range (the kubernetes Service is the first, kube-dns the tenth)."""
    net = ipaddress.ip_network(cidr, strict=False)
    return str(net.network_address + n)


def _invalid(name: str, field: str, message: str) -> errors.Invalid:
    return errors.invalid("", "Service", name, [{"reason": "FieldValueInvalid", "field": field, "message": message}])


def plan_cluster_ip(spec: dict[str, Any], used: set[str], name: str, cidr: str = DEFAULT_SERVICE_CIDR) -> str | None:
    """The ClusterIP a new Service gets: the requested one if free, else the lowest free one above the
    static band, then the lowest free one in it (upstream picks at random in the same order).

    None for headless ("None") and ExternalName services.
    """
    service_cidr = ipaddress.ip_network(cidr, strict=False)
    if spec.get("type") == "ExternalName":
        return None
    requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
    if requested == "None":
        return "None"
    if requested:
        try:
            ip = ipaddress.ip_address(requested)
        except ValueError as e:
            raise _invalid(name, "spec.clusterIPs[0]", f'Invalid value: "{requested}": must be a valid IP address') from e
        if ip not in service_cidr:
            raise _invalid(name, "spec.clusterIPs", f'Invalid value: []string{{"{requested}"}}: failed to allocate IP '
                           f"{requested}: the provided IP ({requested}) is not in the valid range. "
                           f"The range of valid IPs is {service_cidr}")
        if requested in used:
            raise _invalid(name, "spec.clusterIPs", f'Invalid value: []string{{"{requested}"}}: failed to allocate IP '
                           f"{requested}: provided IP is already allocated")
        return requested
    base = int(service_cidr.network_address)
    band = static_band(service_cidr)
    last = service_cidr.num_addresses - 1  # not the broadcast address
    for offset in (*range(max(band, 1), last), *range(1, band)):
        candidate = str(ipaddress.ip_address(base + offset))
        if candidate not in used:
            return candidate
    raise errors.InternalError("failed to allocate a service IP: range is full")


def plan_node_ports(spec: dict[str, Any], used: set[int], name: str) -> list[int | None]:
    """A nodePort for each port of a NodePort or LoadBalancer Service (None where not needed).

    Requested ports are reserved first, so that a dynamic one never takes a port asked for later.
    """
    wants = spec.get("type") in ("NodePort", "LoadBalancer")
    ports = spec.get("ports") or []
    taken = set(used)
    for i, port in enumerate(ports):
        requested = port.get("nodePort")
        if not requested:
            continue
        if requested not in NODE_PORT_RANGE:
            raise _invalid(name, f"spec.ports[{i}].nodePort",
                           f"Invalid value: {requested}: provided port is not in the valid range. "
                           f"The range of valid ports is 30000-32767")
        if requested in taken:
            raise _invalid(name, f"spec.ports[{i}].nodePort",
                           f"Invalid value: {requested}: provided port is already allocated")
        taken.add(requested)
    free = (p for p in NODE_PORT_RANGE if p not in taken)
    out: list[int | None] = []
    for port in ports:
        if port.get("nodePort"):
            out.append(port["nodePort"])
        elif wants:
            port_no = next(free, None)
            if port_no is None:
                raise errors.InternalError("failed to allocate a node port: range is full")
            out.append(port_no)
        else:
            out.append(None)
    return out


def used_addresses(services: list[dict[str, Any]], skip_uid: str = "") -> tuple[set[str], set[int]]:
    ips: set[str] = set()
    ports: set[int] = set()
    for svc in services:
        if skip_uid and svc["metadata"].get("uid") == skip_uid:
            continue
        spec = svc.get("spec") or {}
        ips.update(ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")]) if ip and ip != "None")
        ports.update(p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort"))
    return ips, ports


def assign(spec: dict[str, Any], services: list[dict[str, Any]], name: str, cidr: str = DEFAULT_SERVICE_CIDR) -> None:
    """Fill in clusterIP(s) and nodePorts of a new Service spec, in place."""
    ips, ports = used_addresses(services)
    ip = plan_cluster_ip(spec, ips, name, cidr)
    if ip is not None:
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
    for port, node_port in zip(spec.get("ports") or [], plan_node_ports(spec, ports, name), strict=False):
        if node_port is not None:
            port["nodePort"] = node_port


def keep_allocated(new_spec: dict[str, Any], old_spec: dict[str, Any]) -> None:
    """On update, what the client left out keeps its allocated value (the apiserver's patchAllocatedValues)."""
    if not new_spec.get("clusterIP") and old_spec.get("clusterIP") and new_spec.get("type") != "ExternalName":
        new_spec["clusterIP"] = old_spec["clusterIP"]
        new_spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
    if new_spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
        for p in new_spec.get("ports") or []:
            if not p.get("nodePort"):
                kept = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                if kept:
                    p["nodePort"] = kept


def assign_missing_node_ports(spec: dict[str, Any], others: list[dict[str, Any]], name: str) -> None:
    """A port added on update to a NodePort Service gets a node port too."""
    _ips, used = used_addresses(others)
    for port, node_port in zip(spec.get("ports") or [], plan_node_ports(spec, used, name), strict=False):
        if node_port is not None:
            port["nodePort"] = node_port
