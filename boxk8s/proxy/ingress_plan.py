"""Ingress routing as pure functions: Ingresses → a routing table → one request's backend.

Follows the Ingress documentation (concepts/services-networking/ingress): hosts match exactly or
by a leading wildcard that stands for one DNS label; a Prefix path matches by `/`-separated
elements (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`), an Exact path by the
whole string; of several matching paths the longest wins, and Exact beats Prefix at equal
length. ImplementationSpecific paths are Prefix paths here. Exact hosts are tried before
wildcard hosts, then rules without a host, then the `defaultBackend`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLASS_NAME = "boxk8s"
CONTROLLER = "boxk8s.io/ingress"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class Backend:
    ingress: str  # namespace/name of the Ingress that routes here
    namespace: str
    service: str
    port: int | str  # the Service port's number or name


@dataclass(frozen=True)
class Decision:
    """Where one request goes: `target` (ip, port), or an HTTP status and why."""

    status: int
    target: tuple[str, int] | None = None
    reason: str = ""


@dataclass(frozen=True)
class PathRule:
    path: str
    exact: bool
    backend: Backend

    def matches(self, request_path: str) -> bool:
        if self.exact:
            return request_path == self.path
        rule = [e for e in self.path.split("/") if e]
        return [e for e in request_path.split("/") if e][:len(rule)] == rule

    def rank(self) -> tuple[int, int]:
        """Longest path first; at equal length Exact before Prefix."""
        return (len(self.path.rstrip("/")) if not self.exact else len(self.path), 1 if self.exact else 0)


@dataclass
class IngressTable:
    exact_hosts: dict[str, list[PathRule]] = field(default_factory=dict)
    wildcard_hosts: dict[str, list[PathRule]] = field(default_factory=dict)  # ".app.localhost" → rules
    any_host: list[PathRule] = field(default_factory=list)
    default: Backend | None = None


def is_ours(ingress: Mapping[str, Any]) -> bool:
    """An Ingress of class `boxk8s`, or of no class (ours is the default class)."""
    spec = ingress.get("spec") or {}
    named = spec.get("ingressClassName") or ((ingress.get("metadata") or {}).get("annotations") or {}).get(
        LEGACY_CLASS_ANNOTATION)
    return not named or named == CLASS_NAME


def _backend(key: str, namespace: str, spec: Mapping[str, Any] | None) -> Backend | None:
    service = (spec or {}).get("service") or {}
    port = service.get("port") or {}
    number, name = port.get("number"), port.get("name")
    if not service.get("name") or not (number or name):
        return None  # a resource backend (not served) or an incomplete one
    return Backend(key, namespace, service["name"], int(number) if number else str(name))


def plan_ingress_table(ingresses: Iterable[Mapping[str, Any]]) -> IngressTable:
    """Merge the rules of every Ingress of ours; older Ingresses (by creation, then name) come first
    where two define the same host and path, as most controllers resolve such conflicts."""
    table = IngressTable()
    ordered = sorted((i for i in ingresses if is_ours(i) and not i["metadata"].get("deletionTimestamp")),
                     key=lambda i: (i["metadata"].get("creationTimestamp") or "", i["metadata"]["name"]))
    for ing in ordered:
        md, spec = ing["metadata"], ing.get("spec") or {}
        ns = md.get("namespace") or "default"
        key = f"{ns}/{md['name']}"
        if table.default is None:
            table.default = _backend(key, ns, spec.get("defaultBackend"))
        for rule in spec.get("rules") or []:
            host = (rule.get("host") or "").lower()
            if host.startswith("*."):
                bucket = table.wildcard_hosts.setdefault(host[1:], [])
            elif host:
                bucket = table.exact_hosts.setdefault(host, [])
            else:
                bucket = table.any_host
            for p in (rule.get("http") or {}).get("paths") or []:
                backend = _backend(key, ns, p.get("backend"))
                if backend is not None:
                    bucket.append(PathRule(p.get("path") or "/", p.get("pathType") == "Exact", backend))
    for rules in [*table.exact_hosts.values(), *table.wildcard_hosts.values(), table.any_host]:
        rules.sort(key=PathRule.rank, reverse=True)  # stable: at equal rank the older Ingress stays first
    return table


def plan_tls_hosts(ingresses: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """host (or `*.domain`) → (namespace, Secret name) from the `spec.tls` of our Ingresses; the
    older Ingress wins a host two of them name."""
    hosts: dict[str, tuple[str, str]] = {}
    ordered = sorted((i for i in ingresses if is_ours(i) and not i["metadata"].get("deletionTimestamp")),
                     key=lambda i: (i["metadata"].get("creationTimestamp") or "", i["metadata"]["name"]))
    for ing in ordered:
        ns = ing["metadata"].get("namespace") or "default"
        for entry in (ing.get("spec") or {}).get("tls") or []:
            if not entry.get("secretName"):
                continue
            for host in entry.get("hosts") or []:
                hosts.setdefault(str(host).lower(), (ns, entry["secretName"]))
    return hosts


def tls_host_for(hosts: Mapping[str, Any], server_name: str) -> str | None:
    """The `spec.tls` host entry a TLS client's server name selects: exact, then one-label wildcard."""
    name = server_name.lower()
    if name in hosts:
        return name
    _first, dot, rest = name.partition(".")
    return f"*.{rest}" if dot and f"*.{rest}" in hosts else None


def _best(rules: list[PathRule], path: str) -> Backend | None:
    return next((r.backend for r in rules if r.matches(path)), None)


def route(table: IngressTable, host: str, path: str) -> Backend | None:
    """The backend of one request (`host` may carry a port), or None: a 404."""
    host = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
    if host in table.exact_hosts:
        found = _best(table.exact_hosts[host], path)
        if found:
            return found
    first, dot, rest = host.partition(".")
    if first and dot and f".{rest}" in table.wildcard_hosts:
        found = _best(table.wildcard_hosts[f".{rest}"], path)
        if found:
            return found
    return _best(table.any_host, path) or table.default


def service_port(service: Mapping[str, Any], port: int | str) -> Mapping[str, Any] | None:
    """The Service port an Ingress backend names, by number or by name."""
    for p in (service.get("spec") or {}).get("ports") or []:
        if (isinstance(port, int) and p.get("port") == port) or (isinstance(port, str) and p.get("name") == port):
            return p
    return None
