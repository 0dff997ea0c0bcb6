"""The cluster DNS zone as a pure function: a question and the cluster's objects → the answer.

This is the role of CoreDNS's `kubernetes` plugin (coredns/coredns plugin/kubernetes), configured as
kubeadm and kind configure it:

    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }

following the Kubernetes DNS specification (kubernetes/dns docs/specification.md). `resolve` reads
the cluster through a `ClusterView` (informer caches in the server, plain lists in tests) and never
does I/O: what it cannot answer itself (a name outside the zone, a reverse name it does not know,
the address of an ExternalName's target) it hands back to the server to forward.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename

from boxk8s.proxy.plan import SERVICE_NAME_LABEL

Obj = Mapping[str, Any]

DEFAULT_DOMAIN = "cluster.local"
TTL = 5  # CoreDNS's default `ttl 5` (plugin/kubernetes/kubernetes.go defaultTTL)
SCHEMA_VERSION = "1.1.0"  # plugin/kubernetes/kubernetes.go DNSSchemaVersion
SCHEMA_TTL = 28800  # the TTL CoreDNS gives dns-version.<zone> TXT
MAX_CNAME_CHAIN = 8  # plugin/backend_lookup.go: no more than 8 CNAMEs are followed
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
CNAME = dns.rdatatype.CNAME
PTR = dns.rdatatype.PTR
SOA = dns.rdatatype.SOA
SRV = dns.rdatatype.SRV
TXT = dns.rdatatype.TXT


class ClusterView(Protocol):
    """What the DNS zone reads of the cluster. Objects are the API's plain dicts."""

    def service(self, namespace: str, name: str) -> Obj | None: ...

    def slices(self, namespace: str, name: str) -> list[Obj]:
        """The EndpointSlices of a Service (label kubernetes.io/service-name, same namespace)."""
        ...

    def service_by_ip(self, ip: str) -> Obj | None:
        """The Service whose ClusterIP this is."""
        ...

    def slices_by_ip(self, ip: str) -> list[Obj]:
        """The EndpointSlices with an endpoint at this address."""
        ...

    def namespace_exists(self, namespace: str) -> bool: ...


@dataclass(frozen=True)
class Record:
    """One resource record: an absolute owner name, a type, and the data in presentation format."""

    name: str
    rdtype: int
    data: str
    ttl: int = TTL


@dataclass(frozen=True)
class Answer:
    """The authoritative answer to one question. NODATA is NOERROR with no answer records."""

    rcode: int = dns.rcode.NOERROR
    answer: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    # An ExternalName's target outside the zone: the server asks upstream for it (same type) and
    # appends what it gets, as CoreDNS's kubernetes plugin does through its Upstream.
    chase: str | None = None


@dataclass(frozen=True)
class Request:
    """A name inside the zone, taken apart (CoreDNS plugin/kubernetes/parse.go recordRequest)."""

    kind: str  # "svc" or "pod"
    namespace: str = ""
    service: str = ""  # for "pod", the dashed address
    endpoint: str = ""
    port: str = ""  # from _<port>._<proto>, underscores stripped
    protocol: str = ""


@dataclass(frozen=True)
class Entry:
    """One of CoreDNS's msg.Service values: an address (or, for ExternalName, a host name) and a
    port, under the name an SRV record would point at."""

    host: str
    port: int  # -1 when the EndpointSlice declares no ports (CoreDNS's sentinel)
    target: str  # absolute


def resolve(qname: str, qtype: int, view: ClusterView, domain: str = DEFAULT_DOMAIN, *,
            serial: int = 0) -> Answer | None:
    """The answer to `qname`/`qtype`, or None when the name is not ours (the server forwards it).

    `qname` may lack its trailing dot; matching ignores case, answers keep the question's spelling.
    """
    return _resolve(_absolute(qname), qtype, view, _relative_zone(domain), serial, 0)


def _resolve(owner: str, qtype: int, view: ClusterView, zone: str, serial: int, depth: int) -> Answer | None:
    name = owner.lower().rstrip(".")
    if any(_under(name, z) for z in REVERSE_ZONES):
        return reverse(owner, qtype, view, zone)
    if not _under(name, zone):
        return None
    soa = soa_record(zone, serial)
    nodata, nxdomain = Answer(authority=(soa,)), Answer(rcode=dns.rcode.NXDOMAIN, authority=(soa,))
    if qtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        return Answer(rcode=dns.rcode.REFUSED)  # plugin/kubernetes/handler.go: no zone transfers
    labels = name[: -len(zone)].rstrip(".").split(".") if name != zone else []
    if not labels:  # the apex: its SOA, NODATA for anything else
        return Answer(answer=(soa,)) if qtype == SOA else nodata
    if labels == ["dns-version"] and qtype == TXT:  # specification §2.2
        return Answer(answer=(Record(owner, TXT, f'"{SCHEMA_VERSION}"', SCHEMA_TTL),))
    request = parse_request(labels)
    if request is None:
        return nxdomain
    if not request.service:  # <ns>.svc.<zone>, svc.<zone>: NODATA when the namespace exists
        return nodata if not request.namespace or view.namespace_exists(request.namespace) else nxdomain
    entries = find_pods(request, view, owner) if request.kind == "pod" else find_services(request, view, zone)
    if entries is None:
        return nxdomain
    external = [e.host for e in entries if not _is_ip(e.host)]
    if external:
        return _alias(owner, external[0], qtype, view, zone, serial, depth, nodata)
    answer, additional = records_for(owner, qtype, entries)
    return Answer(answer=answer, additional=additional) if answer else nodata


def records_for(owner: str, qtype: int, entries: Iterable[Entry]) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    """The answer and additional records of this type for a name's entries (no ExternalName here)."""
    if qtype in (A, AAAA):
        # plugin/backend_lookup.go A/AAAA: one record per distinct address of the asked family
        hosts = dict.fromkeys(e.host for e in entries if _family(e.host) == qtype)
        return tuple(Record(owner, qtype, h) for h in hosts), ()
    if qtype == SRV:
        return srv_records(owner, list(entries))
    return (), ()


def srv_records(owner: str, entries: list[Entry]) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    """plugin/backend_lookup.go SRV: priority 0; each entry weighs 100, so an SRV's weight is
    floor(100 / number of entries), at least 1; entries without a port give no record. The
    additional section holds the targets' addresses."""
    weight = max(1, 100 // len(entries)) if entries else 0
    answer: dict[tuple[str, int], Record] = {}
    additional: dict[tuple[str, str], Record] = {}
    for e in entries:
        if e.port == -1:
            continue
        answer.setdefault((e.target, e.port), Record(owner, SRV, f"0 {weight} {e.port} {e.target}"))
        family = _family(e.host)
        if family is not None:
            additional.setdefault((e.target, e.host), Record(e.target, family, e.host))
    return tuple(answer.values()), tuple(additional.values())


def _alias(owner: str, target: str, qtype: int, view: ClusterView, zone: str, serial: int, depth: int,
           nodata: Answer) -> Answer:
    """An ExternalName Service: a CNAME to its target (specification §2.5), followed inside the zone
    and handed to the server to chase outside it (plugin/backend_lookup.go A)."""
    if qtype == CNAME:
        return Answer(answer=(Record(owner, CNAME, target),))
    if target.rstrip(".") == owner.lower().rstrip(".") or depth >= MAX_CNAME_CHAIN:
        return nodata  # x CNAME x, or too long a chain: CoreDNS drops the record
    cname = Record(owner, CNAME, target)
    if not _under(target.rstrip("."), zone):
        return Answer(answer=(cname,), chase=target)
    then = _resolve(target, qtype, view, zone, serial, depth + 1)
    assert then is not None  # inside the zone
    return Answer(rcode=then.rcode, answer=(cname, *then.answer), authority=then.authority,
                  additional=then.additional, chase=then.chase)


def parse_request(labels: list[str]) -> Request | None:
    """plugin/kubernetes/parse.go parseRequest, for the labels left of the zone (lower case):

    <service>.<ns>.svc | <endpoint>.<service>.<ns>.svc | _<port>._<proto>.<service>.<ns>.svc, and
    the same under `pod`. None for a name that cannot exist (CoreDNS's errInvalidRequest: NXDOMAIN).
    """
    *rest, kind = labels
    if kind not in ("svc", "pod"):
        return None
    if not rest:
        return Request(kind)
    *rest, namespace = rest
    if not rest:
        return Request(kind, namespace)
    *rest, service = rest
    if not rest:
        return Request(kind, namespace, service)
    if len(rest) == 1:
        return Request(kind, namespace, service, endpoint=rest[0])
    if len(rest) == 2:
        return Request(kind, namespace, service, port=_strip_underscore(rest[0]),
                       protocol=_strip_underscore(rest[1]))
    return None


def find_services(r: Request, view: ClusterView, zone: str) -> list[Entry] | None:
    """plugin/kubernetes/kubernetes.go findServices: the entries of a service name, or None when the
    name does not exist (no such Service, no matching port, a headless Service without ready
    endpoints — specification §2.4.1 — or an ExternalName asked for a port or an endpoint)."""
    svc = view.service(r.namespace, r.service)
    if svc is None:
        return None
    spec = svc.get("spec") or {}
    base = f"{r.service}.{r.namespace}.svc.{zone}."
    if spec.get("type") == "ExternalName":
        target = str(spec.get("externalName") or "").lower().rstrip(".")
        if r.endpoint or r.port or r.protocol or not target or _is_ip(target):
            return None  # CoreDNS only answers an ExternalName that is a host name
        return [Entry(target + ".", 0, base)]
    if spec.get("clusterIP") == "None" or r.endpoint:
        entries = list(endpoint_entries(view.slices(r.namespace, r.service), r, base))
        return entries or None
    ports = [p for p in spec.get("ports") or []
             if _port_matches(r, p.get("name") or "", p.get("protocol") or "TCP")]
    if not ports:
        return None
    return [Entry(ip, int(p.get("port") or 0), base) for p in ports for ip in cluster_ips(svc)]


def endpoint_entries(slices: Iterable[Obj], r: Request, base: str) -> Iterator[Entry]:
    """The ready endpoints of a Service's slices, as CoreDNS reads them (plugin/kubernetes/object/
    endpoint.go EndpointSliceToEndpoints): `ready` unset counts as ready (the endpoints controller has
    already set it for publishNotReadyAddresses); a slice without ports gives port -1."""
    for s in slices:
        if s.get("addressType") == "FQDN":
            continue
        declared = [(int(p.get("port") or 0), p.get("name") or "", p.get("protocol") or "TCP")
                    for p in s.get("ports") or []] or [(-1, "", "")]
        numbers = [number for number, name, protocol in declared if _port_matches(r, name, protocol)]
        for e in s.get("endpoints") or []:
            if not is_ready(e):
                continue
            for ip in e.get("addresses") or []:
                if not _is_ip(ip):
                    continue
                host = endpoint_hostname(e, ip)
                if r.endpoint and r.endpoint != host.lower():
                    continue
                for number in numbers:
                    yield Entry(ip, number, f"{host}.{base}")


def find_pods(r: Request, view: ClusterView, owner: str) -> list[Entry] | None:
    """`pods insecure` (plugin/kubernetes/kubernetes.go findPods): a-b-c-d.<ns>.pod.<zone> is
    a.b.c.d, unchecked, in a namespace that exists; IPv6 addresses use dashes for colons."""
    if r.endpoint or r.port or r.protocol or not view.namespace_exists(r.namespace):
        return None
    dashed = r.service
    text = dashed.replace("-", ".") if dashed.count("-") == 3 and "--" not in dashed else dashed.replace("-", ":")
    if not _is_ip(text):
        return None
    return [Entry(str(ipaddress.ip_address(text)), -1, owner.lower())]


def reverse(owner: str, qtype: int, view: ClusterView, zone: str) -> Answer | None:
    """PTR records for ClusterIPs and endpoint addresses (specification §2.3.3, §2.4.3). Anything
    else in the reverse zones is not ours: kubeadm's `fallthrough in-addr.arpa ip6.arpa`."""
    if qtype != PTR:
        return None
    try:
        ip = ipaddress.ip_address(dns.reversename.to_address(dns.name.from_text(owner))).compressed
    except (dns.exception.DNSException, ValueError):
        return None  # not a whole address (e.g. a zone cut like 10.in-addr.arpa)
    targets = ptr_targets(ip, view, zone)
    return Answer(answer=tuple(Record(owner, PTR, t) for t in targets)) if targets else None


def ptr_targets(ip: str, view: ClusterView, zone: str) -> list[str]:
    """plugin/kubernetes/reverse.go serviceRecordForIP: a Service with this ClusterIP, else every
    ready endpoint with this address, named by its hostname (or dashed address) under its Service."""
    svc = view.service_by_ip(ip)
    if svc is not None:
        md = svc["metadata"]
        return [f"{md['name']}.{md.get('namespace', '')}.svc.{zone}.".lower()]
    targets: dict[str, None] = {}
    for s in view.slices_by_ip(ip):
        md = s.get("metadata") or {}
        service = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if not service or s.get("addressType") == "FQDN":
            continue
        for e in s.get("endpoints") or []:
            if is_ready(e) and any(_same_ip(a, ip) for a in e.get("addresses") or []):
                name = f"{endpoint_hostname(e, ip)}.{service}.{md.get('namespace', '')}.svc.{zone}."
                targets[name.lower()] = None
    return list(targets)


def soa_record(zone: str, serial: int) -> Record:
    """plugin/backend_lookup.go SOA: ns.dns.<zone>. hostmaster.<zone>. serial 7200 1800 86400 ttl."""
    return Record(f"{zone}.", SOA, f"ns.dns.{zone}. hostmaster.{zone}. {serial} 7200 1800 86400 {TTL}",
                  min(TTL, 300))


def is_ready(endpoint: Obj) -> bool:
    """An unset `ready` is ready: the EndpointSlice API's meaning, and CoreDNS's."""
    return (endpoint.get("conditions") or {}).get("ready") is not False


def endpoint_hostname(endpoint: Obj, ip: str) -> str:
    """plugin/kubernetes/kubernetes.go endpointHostname: the endpoint's hostname, else its address
    with dashes (10-244-1-5; IPv6 colons become dashes too)."""
    hostname = endpoint.get("hostname")
    if hostname:
        return str(hostname)
    return ip.replace(".", "-") if "." in ip else ip.replace(":", "-")


def _port_matches(r: Request, name: str, protocol: str) -> bool:
    """plugin/kubernetes/kubernetes.go matchPortAndProtocol: an empty request part matches any."""
    return (not r.port or r.port == name.lower()) and (not r.protocol or r.protocol == protocol.lower())


def _strip_underscore(label: str) -> str:
    return label[1:] if label.startswith("_") else label


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _relative_zone(domain: str) -> str:
    return domain.lower().strip(".")


def _under(name: str, zone: str) -> bool:
    """Is `name` (lower case, no trailing dot) `zone` or below it?"""
    return name == zone or name.endswith("." + zone)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _same_ip(a: str, b: str) -> bool:
    return _is_ip(a) and ipaddress.ip_address(a) == ipaddress.ip_address(b)


def _family(host: str) -> int | None:
    try:
        return A if ipaddress.ip_address(host).version == 4 else AAAA
    except ValueError:
        return None


@dataclass
class StaticView:
    """A ClusterView over plain lists: for tests, and for anything that has the objects at hand."""

    services: list[Obj] = field(default_factory=list)
    endpoint_slices: list[Obj] = field(default_factory=list)
    namespaces: set[str] | None = None  # None: a namespace exists when a Service is in it

    def service(self, namespace: str, name: str) -> Obj | None:
        return next((s for s in self.services if _ns_name(s) == (namespace, name)), None)

    def slices(self, namespace: str, name: str) -> list[Obj]:
        return [s for s in self.endpoint_slices if (s["metadata"].get("namespace", ""),
                (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)) == (namespace, name)]

    def service_by_ip(self, ip: str) -> Obj | None:
        return next((s for s in self.services if ip in cluster_ips(s)), None)

    def slices_by_ip(self, ip: str) -> list[Obj]:
        return [s for s in self.endpoint_slices if ip in slice_addresses(s)]

    def namespace_exists(self, namespace: str) -> bool:
        if self.namespaces is not None:
            return namespace in self.namespaces
        return any(s["metadata"].get("namespace", "") == namespace for s in self.services)


def cluster_ips(service: Obj) -> list[str]:
    """A Service's ClusterIPs (every family; none for a headless or ExternalName Service)."""
    spec = service.get("spec") or {}
    return [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and _is_ip(ip)]


def slice_addresses(s: Obj) -> list[str]:
    """The addresses of a slice's endpoints, ready or not (readiness is checked at answer time)."""
    if s.get("addressType") == "FQDN":
        return []
    return list(dict.fromkeys(a for e in s.get("endpoints") or [] for a in e.get("addresses") or []))


def _ns_name(obj: Obj) -> tuple[str, str]:
    md = obj["metadata"]
    return md.get("namespace", ""), md["name"]
