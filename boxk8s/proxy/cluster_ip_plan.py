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
kube-proxy's reject rule does. IPv4 only; SCTP is not balanced. Each change is one nft
transaction (render_ruleset), and established connections (conntrack) are untouched by it.
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
    chains: frozenset[str]  # the Service and endpoint chains
    sets: frozenset[str]  # the ClientIP affinity sets
    commands: tuple[str, ...]  # nft commands that build them on a flushed table


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


_T = f"ip {TABLE}"
BASE_CHAINS = (
    f"add chain {_T} nat-prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
    f"add chain {_T} nat-postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}",
    f"add rule {_T} nat-postrouting ct status dnat masquerade",
)


def plan_rules(ports: Iterable[ServicePort]) -> DataplanePlan:
    """The addresses, chains, sets and nft commands (to run on a flushed table) for these ports."""
    ports = list(ports)
    chains: list[str] = []
    sets: list[str] = []
    decls: list[str] = []
    rules: list[str] = []
    for sp in ports:
        if not sp.backends:
            continue
        proto = sp.protocol.lower()
        svc_chain = f"svc-{_id(sp.service, sp.protocol, str(sp.port))}"
        label = f"{sp.service}:{sp.port_name or sp.port}/{proto}"
        rules.append(f'add rule {_T} nat-prerouting ip daddr {sp.cluster_ip} {proto} dport {sp.port} '
                     f'goto {svc_chain} comment "{label}"')
        chains.append(svc_chain)
        decls.append(f"add chain {_T} {svc_chain}")
        endpoint_chains: list[str] = []
        for ip, target_port in sp.backends:
            ep = f"ep-{_id(svc_chain, ip, str(target_port))}"
            endpoint_chains.append(ep)
            chains.append(ep)
            decls.append(f"add chain {_T} {ep}")
            if sp.affinity_seconds:
                # The timeout is in the name: a set's timeout cannot change, a new name starts a new set.
                aff = f"aff-{ep[3:]}-{sp.affinity_seconds}"
                sets.append(aff)
                decls.append(f"add set {_T} {aff} {{ type ipv4_addr; flags dynamic,timeout; "
                             f"timeout {sp.affinity_seconds}s; }}")
                rules.append(f"add rule {_T} {svc_chain} ip saddr @{aff} goto {ep}")
                rules.append(f"add rule {_T} {ep} update @{aff} {{ ip saddr }}")
            rules.append(f"add rule {_T} {ep} meta l4proto {proto} dnat to {ip}:{target_port}")
        if len(endpoint_chains) == 1:
            rules.append(f"add rule {_T} {svc_chain} goto {endpoint_chains[0]}")
        else:
            choices = ", ".join(f"{i} : goto {ep}" for i, ep in enumerate(endpoint_chains))
            rules.append(f"add rule {_T} {svc_chain} numgen random mod {len(endpoint_chains)} vmap {{ {choices} }}")
    return DataplanePlan(frozenset(sp.cluster_ip for sp in ports), frozenset(chains), frozenset(sets),
                         (*BASE_CHAINS, *decls, *rules))


def render_ruleset(plan: DataplanePlan, previous: DataplanePlan | None) -> str:
    """One nft transaction taking the table from `previous` (None: unknown, so start afresh) to
    `plan`. Flushing keeps sets' elements, so ClientIP affinity survives unrelated changes; chains
    and sets no longer used are deleted once the flush has emptied every rule naming them."""
    if previous is None:
        head = [f"add table {_T}", f"delete table {_T}", f"add table {_T}"]
        stale_chains: list[str] = []
        stale_sets: list[str] = []
    else:
        head = [f"add table {_T}", f"flush table {_T}"]
        stale_chains = sorted(previous.chains - plan.chains)
        stale_sets = sorted(previous.sets - plan.sets)
    tail = [f"delete chain {_T} {c}" for c in stale_chains] + [f"delete set {_T} {s}" for s in stale_sets]
    return "\n".join([*head, *plan.commands, *tail]) + "\n"


def plan_dataplane(services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]]) -> DataplanePlan:
    return plan_rules(plan_service_ports(services, slices))
