"""ClusterIP load balancing as nftables rules: Services + EndpointSlices → the agent's ruleset. Pure.

The rules are kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go) reduced to what one
network agent needs (proxy/cluster_ip.py; the agent itself is kubelet/runtime/netagent.py):

- one `nat-prerouting` chain: a ClusterIP, protocol and port → that Service port's chain;
- a Service port's chain picks one endpoint at random (`numgen random mod N vmap`), after
  checking the ClientIP affinity sets when `sessionAffinity: ClientIP` (each endpoint chain
  records the client in its set, with the Service's timeout, as kube-proxy's `update @…`);
- an endpoint chain DNATs to the endpoint's IP and port;
- every DNATed connection is masqueraded, so the endpoint answers the agent, which un-NATs the
  reply (pods and the agent share one flat network: without it the reply would skip the agent).

Only ready endpoints get new connections (plan.ready_backends). A Service port with none gets no
rule: the agent's own kernel then refuses the connection (TCP reset, ICMP port unreachable), as
kube-proxy's reject rule does. IPv4 only; SCTP is not balanced. The ruleset replaces the whole
table in one transaction, so established connections (conntrack) are untouched.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from boxk8s.proxy.plan import ready_backends, service_key, slices_by_service

TABLE = "boxk8s"
PROTOCOLS = ("TCP", "UDP")
DEFAULT_AFFINITY_SECONDS = 10800  # sessionAffinityConfig.clientIP.timeoutSeconds' default


@dataclass(frozen=True)
class ServicePort:
    service: str  # namespace/name
    port_name: str
    protocol: str  # TCP or UDP
    cluster_ip: str
    port: int
    backends: tuple[tuple[str, int], ...]  # ready (IP, port), sorted
    affinity_seconds: int = 0  # ClientIP affinity timeout; 0: none


@dataclass(frozen=True)
class DataplanePlan:
    addresses: frozenset[str]  # the ClusterIPs the agent holds
    ruleset: str


def _reachable(ip: str) -> bool:
    """An endpoint the agent can forward to: IPv4, not loopback (the `kubernetes` Service's endpoint
    is the API server on the host's 127.0.0.1, which the agent cannot reach)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.version == 4 and not address.is_loopback


def _ipv4(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 4
    except ValueError:
        return False


def plan_service_ports(services: Iterable[Mapping[str, Any]],
                       slices: Iterable[Mapping[str, Any]]) -> list[ServicePort]:
    """Every balanced port of every Service with a ClusterIP, in a stable order."""
    by_service = slices_by_service(slices)
    out: list[ServicePort] = []
    for svc in sorted(services, key=service_key):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if spec.get("type") == "ExternalName" or not _ipv4(ip):
            continue  # headless ("None"), ExternalName, IPv6
        key = service_key(svc)
        affinity = 0
        if spec.get("sessionAffinity") == "ClientIP":
            affinity = int(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
                           or DEFAULT_AFFINITY_SECONDS)
        for port in spec.get("ports") or []:
            protocol = port.get("protocol") or "TCP"
            if protocol not in PROTOCOLS or not port.get("port"):
                continue
            name = port.get("name") or ""
            backends = tuple(b for b in ready_backends(by_service.get(key, []), name, protocol) if _reachable(b[0]))
            out.append(ServicePort(key, name, protocol, ip, int(port["port"]), backends, affinity))
    return out


def _id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


def render_ruleset(ports: Iterable[ServicePort]) -> str:
    """The nft script that replaces table ip boxk8s with these Service ports' rules."""
    dispatch: list[str] = []
    chains: list[str] = []
    sets: list[str] = []
    for sp in ports:
        if not sp.backends:
            continue
        proto = sp.protocol.lower()
        svc_chain = f"svc-{_id(sp.service, sp.protocol, str(sp.port))}"
        label = f"{sp.service}:{sp.port_name or sp.port}/{proto}"
        dispatch.append(f'\t\tip daddr {sp.cluster_ip} {proto} dport {sp.port} goto {svc_chain} comment "{label}"')
        body: list[str] = []
        endpoint_chains: list[str] = []
        for ip, target_port in sp.backends:
            ep = f"ep-{_id(svc_chain, ip, str(target_port))}"
            endpoint_chains.append(ep)
            rules: list[str] = []
            if sp.affinity_seconds:
                sets.append(f"\tset aff-{ep[3:]} {{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
                            f"\t\ttimeout {sp.affinity_seconds}s\n\t}}")
                body.append(f"\t\tip saddr @aff-{ep[3:]} goto {ep}")
                rules.append(f"\t\tupdate @aff-{ep[3:]} {{ ip saddr }}")
            rules.append(f"\t\tmeta l4proto {proto} dnat to {ip}:{target_port}")
            chains.append(f"\tchain {ep} {{\n" + "\n".join(rules) + "\n\t}")
        if len(endpoint_chains) == 1:
            body.append(f"\t\tgoto {endpoint_chains[0]}")
        else:
            choices = ", ".join(f"{i} : goto {ep}" for i, ep in enumerate(endpoint_chains))
            body.append(f"\t\tnumgen random mod {len(endpoint_chains)} vmap {{ {choices} }}")
        chains.append(f"\tchain {svc_chain} {{\n" + "\n".join(body) + "\n\t}")
    lines = [
        f"add table ip {TABLE}",
        f"delete table ip {TABLE}",
        f"table ip {TABLE} {{",
        *sets,
        "\tchain nat-prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        *dispatch,
        "\t}",
        "\tchain nat-postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        "\t\tct status dnat masquerade",
        "\t}",
        *chains,
        "}",
    ]
    return "\n".join(lines) + "\n"


def plan_dataplane(services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]]) -> DataplanePlan:
    ports = plan_service_ports(services, slices)
    return DataplanePlan(frozenset(sp.cluster_ip for sp in ports), render_ruleset(ports))
