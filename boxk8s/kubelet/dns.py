"""The pod's DNS configuration as the kubelet forms it from dnsPolicy and dnsConfig. Pure.

Upstream: kubernetes pkg/kubelet/network/dns/dns.go (`Configurer.GetPodDNS` and its helpers),
and the CRI's writing of the result as the sandbox's resolv.conf (containerd's
`parseDNSOptions`). The pod DNS doc: https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/

One difference of substance: upstream always hands the runtime a DNS config, `Default` being
the node's resolv.conf copied. Here `Default` is served by the runtime's own DNS (Docker's
embedded resolver at 127.0.0.11, which forwards as the host resolves, and which also knows the
pods' network aliases), so `plan_pod_dns` says either "the runtime's default" or the exact
resolv.conf text the kubelet mounts into every container of the pod.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from boxk8s.kubelet.plan import pod_label

# validation.MaxDNSNameservers, and the ExpandedDNSConfig limits (GA since 1.28):
# validation.MaxDNSSearchPathsExpanded and MaxDNSSearchListCharsExpanded.
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_LIST_CHARS = 2048
MAX_SEARCH_PATH_CHARS = 253  # utilvalidation.DNS1123SubdomainMaxLength: longer ones abort some resolvers
DEFAULT_OPTIONS = ("ndots:5",)  # dns.go's defaultDNSOptions

DnsType = Literal["cluster", "host", "none"]


@dataclass(frozen=True)
class DnsConfig:
    """What a resolv.conf says (the CRI's `runtimeapi.DNSConfig`)."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # "name" or "name:value"

    def render(self) -> str:
        """The file, as containerd's `parseDNSOptions` writes it: search, nameservers, options."""
        out = ""
        if self.searches:
            out += f"search {' '.join(self.searches)}\n"
        out += "".join(f"nameserver {s}\n" for s in self.servers)
        if self.options:
            out += f"options {' '.join(self.options)}\n"
        return out


@dataclass(frozen=True)
class DnsWarning:
    """A Warning event about the pod: (reason, message)."""

    reason: str
    message: str


@dataclass(frozen=True)
class PodDns:
    """The pod's DNS: `config` None means the runtime's default DNS (nothing is mounted)."""

    config: DnsConfig | None
    warnings: tuple[DnsWarning, ...] = ()

    @property
    def resolv_conf(self) -> str | None:
        """The exact file to mount at /etc/resolv.conf, or None for the runtime's default."""
        return self.config.render() if self.config is not None else None


def parse_resolv_conf(text: str) -> DnsConfig:
    """dns.go's `parseResolvConf`: nameserver lines accumulate; the last search line and the last
    options line win; search domains lose a trailing dot. Lines it cannot use are skipped."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return DnsConfig(tuple(servers), tuple(searches), tuple(options))


def pod_dns_type(pod: Mapping[str, Any]) -> DnsType:
    """dns.go's `getPodDNSType`. An unset policy is ClusterFirst (the API server's default); an
    unknown one too, as upstream falls back to it."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "Default" or (policy == "ClusterFirst" and spec.get("hostNetwork")):
        return "host"  # a hostNetwork pod with ClusterFirst gets the node's DNS
    return "cluster"  # ClusterFirst, ClusterFirstWithHostNet, anything else


def _omit_duplicates(items: Iterable[str]) -> tuple[str, ...]:
    """dns.go's `omitDuplicates`: first occurrence kept, order kept."""
    return tuple(dict.fromkeys(items))


def cluster_searches(namespace: str, cluster_domain: str, host_searches: Sequence[str] = ()) -> tuple[str, ...]:
    """dns.go's `generateSearchesForDNSClusterFirst`: `<ns>.svc.<domain> svc.<domain> <domain>`,
    then the node's search domains."""
    if not cluster_domain:
        return tuple(host_searches)
    return _omit_duplicates((f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                             *host_searches))


def merge_options(existing: Sequence[str], pod_options: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """dns.go's `mergeDNSOptions`: dnsConfig's options override those of the same name. Upstream
    goes through a Go map, so its order is random; here the base's order is kept, an overridden
    option stays in its place and new ones follow in the pod's order."""
    merged: dict[str, str] = {}
    for op in existing:
        name, _, value = op.partition(":")
        merged[name] = value
    for op in pod_options:
        value = op.get("value")
        merged[str(op.get("name", ""))] = "" if value is None else str(value)
    return tuple(f"{name}:{value}" if value else name for name, value in merged.items() if name)


def append_dns_config(base: DnsConfig, dns_config: Mapping[str, Any]) -> DnsConfig:
    """dns.go's `appendDNSConfig`: nameservers and searches appended without duplicates, options merged."""
    return DnsConfig(
        servers=_omit_duplicates((*base.servers, *(str(s) for s in dns_config.get("nameservers") or ()))),
        searches=_omit_duplicates((*base.searches, *(str(s) for s in dns_config.get("searches") or ()))),
        options=merge_options(base.options, dns_config.get("options") or ()),
    )


def fit_nameservers(servers: tuple[str, ...]) -> tuple[tuple[str, ...], DnsWarning | None]:
    """dns.go's `formDNSNameserversFitsLimits`: at most three."""
    if len(servers) <= MAX_NAMESERVERS:
        return servers, None
    kept = servers[:MAX_NAMESERVERS]
    return kept, DnsWarning("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been "
                                                f"omitted, the applied nameserver line is: {' '.join(kept)}")


def fit_searches(searches: tuple[str, ...]) -> tuple[tuple[str, ...], DnsWarning | None]:
    """dns.go's `formDNSSearchFitsLimits`: at most 32 paths, none longer than 253 characters, and
    the line at most 2048 characters (paths dropped from its end)."""
    exceeded = len(searches) > MAX_SEARCH_PATHS
    kept = [s for s in searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_SEARCH_PATH_CHARS]
    exceeded |= len(kept) < len(searches[:MAX_SEARCH_PATHS])
    while kept and len(" ".join(kept)) > MAX_SEARCH_LIST_CHARS:
        kept.pop()
        exceeded = True
    if not exceeded:
        return searches, None
    return tuple(kept), DnsWarning("DNSConfigForming", "Search Line limits were exceeded, some search paths have "
                                                       f"been omitted, the applied search line is: {' '.join(kept)}")


def _is_loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server).is_loopback
    except ValueError:
        return False


def missing_cluster_dns(pod: Mapping[str, Any]) -> DnsWarning:
    """The pod's MissingClusterDNS event (upstream also records one about the node)."""
    return DnsWarning("MissingClusterDNS", f'pod: "{pod_label(pod)}". kubelet does not have ClusterDNS IP configured '
                                           'and cannot create Pod using "ClusterFirst" policy. Falling back to '
                                           '"Default" policy.')


def _host_base(host: DnsConfig, host_network: bool) -> tuple[DnsConfig, list[DnsWarning]]:
    """The node's resolv.conf as the base of a Default pod that has a dnsConfig.

    Choice: a container on the pod network cannot reach the node's loopback nameservers (127.x,
    ::1; systemd-resolved's 127.0.0.53 is the common case), so they are left out, with a warning;
    the rest of the node's file is kept. If no nameserver is left once dnsConfig is added, the
    caller falls back to the runtime's default DNS (which does reach the node's resolver) rather
    than mount a file without nameservers, where the resolver would ask 127.0.0.1 and fail: DNS
    that works without the dnsConfig beats a dnsConfig without DNS, and the warning says so. A
    hostNetwork pod shares the node's loopback, so it keeps them.
    """
    if host_network:
        return host, []
    unreachable = [s for s in host.servers if _is_loopback(s)]
    if not unreachable:
        return host, []
    reachable = tuple(s for s in host.servers if not _is_loopback(s))
    warning = DnsWarning("DNSConfigForming", f"Nameservers of the node's resolv.conf a pod cannot reach were "
                                             f"omitted (loopback addresses): {' '.join(unreachable)}")
    return DnsConfig(reachable, host.searches, host.options), [warning]


def plan_pod_dns(pod: Mapping[str, Any], *, cluster_dns: Sequence[str], cluster_domain: str,
                 host_resolv_conf: str) -> PodDns:
    """The pod's DNS (dns.go's `GetPodDNS`), from the kubelet's cluster DNS servers and domain and
    the text of the node's resolv.conf (the kubelet's --resolv-conf; "" when it has none).

    - ClusterFirst (or unset), and ClusterFirstWithHostNet: the cluster DNS servers only, the
      cluster search path then the node's, `options ndots:5`. With no cluster DNS configured, a
      MissingClusterDNS warning and the Default policy instead.
    - ClusterFirst with hostNetwork, and Default: the runtime's default DNS; with a dnsConfig,
      the node's resolv.conf merged with it (see `_host_base` for its loopback nameservers).
    - None: only the dnsConfig.
    Then dnsConfig is appended (`appendDNSConfig`) and the limits applied, with upstream's
    DNSConfigForming warnings.
    """
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    dns_config = spec.get("dnsConfig")
    kind = pod_dns_type(pod)
    warnings: list[DnsWarning] = []
    if kind == "none":
        base = DnsConfig()  # upstream: empty settings as the base
    elif kind == "cluster" and cluster_dns:
        host = parse_resolv_conf(host_resolv_conf)
        base = DnsConfig(tuple(cluster_dns), cluster_searches(namespace, cluster_domain, host.searches),
                         DEFAULT_OPTIONS)
    else:
        if kind == "cluster":
            warnings.append(missing_cluster_dns(pod))
        if dns_config is None:
            return PodDns(None, tuple(warnings))
        base, dropped = _host_base(parse_resolv_conf(host_resolv_conf), bool(spec.get("hostNetwork")))
        warnings.extend(dropped)
    config = append_dns_config(base, dns_config) if dns_config is not None else base
    servers, too_many = fit_nameservers(config.servers)
    searches, too_long = fit_searches(config.searches)
    warnings.extend(w for w in (too_many, too_long) if w is not None)
    if kind != "none" and not servers:
        warnings.append(DnsWarning("DNSConfigForming", "No nameserver a pod can reach in the node's resolv.conf "
                                                       "nor in dnsConfig: dnsConfig was not applied, the pod uses "
                                                       "the container runtime's DNS"))
        return PodDns(None, tuple(warnings))
    return PodDns(DnsConfig(servers, searches, config.options), tuple(warnings))
