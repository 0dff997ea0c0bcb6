"""The cluster DNS zone as tables: a question and the cluster's objects → the answer (no event loop)."""

from __future__ import annotations

from typing import Any

import dns.rcode
import dns.rdatatype
import pytest

from boxk8s.proxy.dns_records import (
    Answer,
    Entry,
    Request,
    StaticView,
    endpoint_hostname,
    parse_request,
    resolve,
    soa_record,
    srv_records,
)

Obj = dict[str, Any]
A, AAAA, CNAME, PTR, SOA, SRV, TXT, MX = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.CNAME,
                                          dns.rdatatype.PTR, dns.rdatatype.SOA, dns.rdatatype.SRV,
                                          dns.rdatatype.TXT, dns.rdatatype.MX)
NOERROR, NXDOMAIN, REFUSED = dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.REFUSED
Z = "cluster.local"


def service(name: str, ip: str | None, ns: str = "default", *, kind: str = "ClusterIP",
            ports: list[Obj] | None = None, **spec: Any) -> Obj:
    s: Obj = {"type": kind, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}] if ports is None else ports,
              **spec}
    if ip is not None:
        s["clusterIP"] = ip
    return {"metadata": {"name": name, "namespace": ns}, "spec": s}


def endpoint(ip: str, ready: bool | None = True, hostname: str | None = None) -> Obj:
    e: Obj = {"addresses": [ip]}
    if ready is not None:
        e["conditions"] = {"ready": ready}
    if hostname is not None:
        e["hostname"] = hostname
    return e


def slice_(service_name: str, endpoints: list[Obj], ns: str = "default", *, ports: list[Obj] | None = None,
           address_type: str = "IPv4", suffix: str = "x") -> Obj:
    return {"metadata": {"name": f"{service_name}-{suffix}", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": endpoints,
            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}] if ports is None else ports}


VIEW = StaticView(
    services=[
        service("web", "10.96.0.10", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                            {"name": "dns", "port": 53, "protocol": "UDP"}]),
        service("np", "10.96.0.11", kind="NodePort"),
        service("lb", "10.96.0.12", kind="LoadBalancer"),
        service("dual", "10.96.0.13", clusterIPs=["10.96.0.13", "fd00::13"]),
        service("api", "10.96.0.20", ns="other"),
        service("db", "None"),
        service("empty", "None"),
        service("sleepy", "None"),
        service("bare", "None", ports=[]),
        service("ext", None, kind="ExternalName", externalName="Example.COM.", ports=[]),
        service("alias", None, kind="ExternalName", externalName="web.default.svc.cluster.local", ports=[]),
        service("byip", None, kind="ExternalName", externalName="192.0.2.1", ports=[]),
        service("loop", None, kind="ExternalName", externalName="loop.default.svc.cluster.local", ports=[]),
        service("v6", "fd00::20"),
    ],
    endpoint_slices=[
        slice_("db", [endpoint("10.244.0.5", hostname="db-0"), endpoint("10.244.0.6", ready=False, hostname="db-1"),
                      endpoint("10.244.0.7", ready=None)]),
        slice_("db", [endpoint("10.244.9.9")], ns="other"),  # same name, other namespace: not db's
        slice_("db", [{"addresses": ["db.example.com"]}], address_type="FQDN", suffix="fqdn"),
        slice_("sleepy", [endpoint("10.244.0.8", ready=False, hostname="s-0")]),
        slice_("bare", [endpoint("10.244.0.9")], ports=[]),
        slice_("web", [endpoint("10.244.1.1")], ports=[{"name": "http", "port": 8080, "protocol": "TCP"}]),
    ],
    namespaces={"default", "other"},
)

SVC = "default.svc.cluster.local."

# (question, type) → (rcode, answer records as "name type data"); rcode None: not ours, forwarded.
CASES: list[tuple[str, int, int | None, list[str]]] = [
    # §2.3.1: a Service with a ClusterIP, whatever its type
    ("web.default.svc.cluster.local", A, NOERROR, [f"web.{SVC} A 10.96.0.10"]),
    ("web.default.svc.cluster.local.", A, NOERROR, [f"web.{SVC} A 10.96.0.10"]),
    ("np.default.svc.cluster.local", A, NOERROR, [f"np.{SVC} A 10.96.0.11"]),
    ("lb.default.svc.cluster.local", A, NOERROR, [f"lb.{SVC} A 10.96.0.12"]),
    ("dual.default.svc.cluster.local", A, NOERROR, [f"dual.{SVC} A 10.96.0.13"]),
    ("dual.default.svc.cluster.local", AAAA, NOERROR, [f"dual.{SVC} AAAA fd00::13"]),
    ("v6.default.svc.cluster.local", AAAA, NOERROR, [f"v6.{SVC} AAAA fd00::20"]),
    ("v6.default.svc.cluster.local", A, NOERROR, []),
    # IPv4 only: AAAA, TXT, MX are NODATA (with the SOA, checked below)
    ("web.default.svc.cluster.local", AAAA, NOERROR, []),
    ("web.default.svc.cluster.local", TXT, NOERROR, []),
    ("web.default.svc.cluster.local", MX, NOERROR, []),
    ("web.default.svc.cluster.local", CNAME, NOERROR, []),
    # case-insensitive; the answer keeps the question's spelling
    ("WeB.DeFault.SVC.Cluster.LOCAL", A, NOERROR, ["WeB.DeFault.SVC.Cluster.LOCAL. A 10.96.0.10"]),
    # namespaces: a Service is found only in its own
    ("api.other.svc.cluster.local", A, NOERROR, ["api.other.svc.cluster.local. A 10.96.0.20"]),
    ("api.default.svc.cluster.local", A, NXDOMAIN, []),
    ("web.other.svc.cluster.local", A, NXDOMAIN, []),
    ("web.nosuch.svc.cluster.local", A, NXDOMAIN, []),
    ("nope.default.svc.cluster.local", A, NXDOMAIN, []),
    ("nope.default.svc.cluster.local", AAAA, NXDOMAIN, []),
    ("nope.default.svc.cluster.local", TXT, NXDOMAIN, []),
    # §2.4.1: headless — the ready endpoints (ready unset counts), not the unready, not another namespace's
    ("db.default.svc.cluster.local", A, NOERROR, [f"db.{SVC} A 10.244.0.5", f"db.{SVC} A 10.244.0.7"]),
    ("db.default.svc.cluster.local", AAAA, NOERROR, []),
    ("empty.default.svc.cluster.local", A, NXDOMAIN, []),  # no endpoints at all
    ("sleepy.default.svc.cluster.local", A, NXDOMAIN, []),  # only unready ones
    ("bare.default.svc.cluster.local", A, NOERROR, [f"bare.{SVC} A 10.244.0.9"]),  # slice without ports
    # §2.4.1: <hostname>.<service>, or the dashed address when there is no hostname
    ("db-0.db.default.svc.cluster.local", A, NOERROR, [f"db-0.db.{SVC} A 10.244.0.5"]),
    ("DB-0.db.default.svc.cluster.local", A, NOERROR, [f"DB-0.db.{SVC} A 10.244.0.5"]),
    ("10-244-0-7.db.default.svc.cluster.local", A, NOERROR, [f"10-244-0-7.db.{SVC} A 10.244.0.7"]),
    ("db-1.db.default.svc.cluster.local", A, NXDOMAIN, []),  # not ready
    ("db-9.db.default.svc.cluster.local", A, NXDOMAIN, []),
    ("s-0.sleepy.default.svc.cluster.local", A, NXDOMAIN, []),
    # CoreDNS also names the endpoints of a Service with a ClusterIP
    ("10-244-1-1.web.default.svc.cluster.local", A, NOERROR, [f"10-244-1-1.web.{SVC} A 10.244.1.1"]),
    # §2.3.2 / §2.4.2: SRV for named ports
    ("_http._tcp.web.default.svc.cluster.local", SRV, NOERROR,
     [f"_http._tcp.web.{SVC} SRV 0 100 80 web.{SVC}"]),
    ("_DNS._UDP.web.default.svc.cluster.local", SRV, NOERROR,
     [f"_DNS._UDP.web.{SVC} SRV 0 100 53 web.{SVC}"]),
    ("_http._udp.web.default.svc.cluster.local", SRV, NXDOMAIN, []),
    ("_nope._tcp.web.default.svc.cluster.local", SRV, NXDOMAIN, []),
    ("web.default.svc.cluster.local", SRV, NOERROR,  # CoreDNS: every port of the service
     [f"web.{SVC} SRV 0 50 80 web.{SVC}", f"web.{SVC} SRV 0 50 53 web.{SVC}"]),
    ("_pg._tcp.db.default.svc.cluster.local", SRV, NOERROR,
     [f"_pg._tcp.db.{SVC} SRV 0 50 5432 db-0.db.{SVC}", f"_pg._tcp.db.{SVC} SRV 0 50 5432 10-244-0-7.db.{SVC}"]),
    ("_pg._tcp.db.default.svc.cluster.local", A, NOERROR,  # CoreDNS answers addresses there too
     [f"_pg._tcp.db.{SVC} A 10.244.0.5", f"_pg._tcp.db.{SVC} A 10.244.0.7"]),
    ("_pg._udp.db.default.svc.cluster.local", SRV, NXDOMAIN, []),
    ("bare.default.svc.cluster.local", SRV, NOERROR, []),  # no ports: the name exists, no SRV
    ("db-0.db.default.svc.cluster.local", SRV, NOERROR, [f"db-0.db.{SVC} SRV 0 100 5432 db-0.db.{SVC}"]),
    # §2.5: ExternalName is a CNAME, whatever the type asked (the server chases it upstream)
    ("ext.default.svc.cluster.local", A, NOERROR, [f"ext.{SVC} CNAME example.com."]),
    ("ext.default.svc.cluster.local", AAAA, NOERROR, [f"ext.{SVC} CNAME example.com."]),
    ("ext.default.svc.cluster.local", CNAME, NOERROR, [f"ext.{SVC} CNAME example.com."]),
    ("ext.default.svc.cluster.local", SRV, NOERROR, [f"ext.{SVC} CNAME example.com."]),
    ("ext.default.svc.cluster.local", TXT, NOERROR, [f"ext.{SVC} CNAME example.com."]),
    ("_http._tcp.ext.default.svc.cluster.local", SRV, NXDOMAIN, []),
    ("x.ext.default.svc.cluster.local", A, NXDOMAIN, []),
    ("alias.default.svc.cluster.local", A, NOERROR, [f"alias.{SVC} CNAME web.{SVC}", f"web.{SVC} A 10.96.0.10"]),
    ("alias.default.svc.cluster.local", AAAA, NOERROR, [f"alias.{SVC} CNAME web.{SVC}"]),
    ("byip.default.svc.cluster.local", A, NXDOMAIN, []),  # CoreDNS: an address is no CNAME target
    ("loop.default.svc.cluster.local", A, NOERROR, []),  # x CNAME x is dropped
    # §2.6 / `pods insecure`: a-b-c-d.<ns>.pod, in a namespace that exists
    ("10-244-1-5.default.pod.cluster.local", A, NOERROR, ["10-244-1-5.default.pod.cluster.local. A 10.244.1.5"]),
    ("10-244-1-5.default.pod.cluster.local", AAAA, NOERROR, []),
    ("fd00--1.default.pod.cluster.local", AAAA, NOERROR, ["fd00--1.default.pod.cluster.local. AAAA fd00::1"]),
    ("10-244-1-5.nosuch.pod.cluster.local", A, NXDOMAIN, []),
    ("not-an-ip.default.pod.cluster.local", A, NXDOMAIN, []),
    ("10-244-1-500.default.pod.cluster.local", A, NXDOMAIN, []),
    ("x.10-244-1-5.default.pod.cluster.local", A, NXDOMAIN, []),
    # §2.3.3 / §2.4.3: PTR for ClusterIPs and ready endpoints; other reverse names are forwarded
    ("10.0.96.10.in-addr.arpa", PTR, NOERROR, [f"10.0.96.10.in-addr.arpa. PTR web.{SVC}"]),
    ("20.0.96.10.IN-ADDR.ARPA.", PTR, NOERROR, ["20.0.96.10.IN-ADDR.ARPA. PTR api.other.svc.cluster.local."]),
    ("5.0.244.10.in-addr.arpa", PTR, NOERROR, [f"5.0.244.10.in-addr.arpa. PTR db-0.db.{SVC}"]),
    ("7.0.244.10.in-addr.arpa", PTR, NOERROR, [f"7.0.244.10.in-addr.arpa. PTR 10-244-0-7.db.{SVC}"]),
    ("6.0.244.10.in-addr.arpa", PTR, None, []),  # not ready
    ("9.9.244.10.in-addr.arpa", PTR, NOERROR,  # another namespace's "db" slice: named in its namespace
     ["9.9.244.10.in-addr.arpa. PTR 10-244-9-9.db.other.svc.cluster.local."]),
    ("1.2.0.192.in-addr.arpa", PTR, None, []),
    ("10.0.96.10.in-addr.arpa", A, None, []),
    ("96.10.in-addr.arpa", PTR, None, []),
    ("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", PTR, NOERROR,
     [f"0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. PTR v6.{SVC}"]),
    # the zone's own names
    ("cluster.local", SOA, NOERROR, ["cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 "
                                     "1800 86400 5"]),
    ("cluster.local", A, NOERROR, []),
    ("svc.cluster.local", A, NOERROR, []),
    ("pod.cluster.local", A, NOERROR, []),
    ("default.svc.cluster.local", A, NOERROR, []),
    ("other.pod.cluster.local", A, NOERROR, []),
    ("nosuch.svc.cluster.local", A, NXDOMAIN, []),
    ("dns-version.cluster.local", TXT, NOERROR, ['dns-version.cluster.local. TXT "1.1.0"']),
    ("dns-version.cluster.local", A, NXDOMAIN, []),
    ("foo.cluster.local", A, NXDOMAIN, []),
    ("google.com.cluster.local", A, NXDOMAIN, []),
    ("a.b._http._tcp.web.default.svc.cluster.local", A, NXDOMAIN, []),
    ("cluster.local", dns.rdatatype.AXFR, REFUSED, []),
    # not ours
    ("example.com", A, None, []),
    ("example.com.", AAAA, None, []),
    ("notcluster.local", A, None, []),
    ("local", A, None, []),
    ("cluster.local.example.com", A, None, []),
]


def lines(records: Any) -> list[str]:
    return [f"{r.name} {dns.rdatatype.to_text(r.rdtype)} {r.data}" for r in records]


@pytest.mark.parametrize(("qname", "qtype", "rcode", "expected"), CASES,
                         ids=[f"{q}/{dns.rdatatype.to_text(t)}" for q, t, *_ in CASES])
def test_answers(qname: str, qtype: int, rcode: int | None, expected: list[str]) -> None:
    got = resolve(qname, qtype, VIEW, serial=7)
    if rcode is None:
        assert got is None
        return
    assert got is not None
    assert (got.rcode, sorted(lines(got.answer))) == (rcode, sorted(expected))


@pytest.mark.parametrize(("qname", "qtype", "rcode", "expected"),
                         [c for c in CASES if c[2] in (NOERROR, NXDOMAIN) and not c[3]],
                         ids=lambda v: str(v))
def test_negative_answers_carry_the_zone_soa(qname: str, qtype: int, rcode: int, expected: list[str]) -> None:
    """NXDOMAIN and NODATA carry the SOA in the authority section (its minimum is the negative TTL)."""
    got = resolve(qname, qtype, VIEW, serial=7)
    assert got is not None
    assert lines(got.authority) == [
        "cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 1800 86400 5"]
    assert got.authority[0].ttl == 5


def test_cluster_records_live_5_seconds_and_the_schema_version_8_hours() -> None:
    for qname, qtype in [("web.default.svc.cluster.local", A), ("_pg._tcp.db.default.svc.cluster.local", SRV),
                         ("10.0.96.10.in-addr.arpa", PTR), ("ext.default.svc.cluster.local", A)]:
        got = resolve(qname, qtype, VIEW)
        assert got is not None and got.answer
        assert {r.ttl for r in (*got.answer, *got.additional)} == {5}, qname
    version = resolve("dns-version.cluster.local", TXT, VIEW)
    assert version is not None and [r.ttl for r in version.answer] == [28800]


def test_srv_answers_carry_their_targets_addresses() -> None:
    got = resolve("_pg._tcp.db.default.svc.cluster.local", SRV, VIEW)
    assert got is not None
    assert sorted(lines(got.additional)) == [f"10-244-0-7.db.{SVC} A 10.244.0.7", f"db-0.db.{SVC} A 10.244.0.5"]
    web = resolve("_http._tcp.web.default.svc.cluster.local", SRV, VIEW)
    assert web is not None and lines(web.additional) == [f"web.{SVC} A 10.96.0.10"]


def test_an_external_target_is_left_to_the_server_to_chase() -> None:
    """Outside the zone the server asks upstream; inside it the answer is complete already."""
    ext = resolve("ext.default.svc.cluster.local", A, VIEW)
    assert ext is not None and ext.chase == "example.com."
    assert resolve("ext.default.svc.cluster.local", CNAME, VIEW) == Answer(
        answer=ext.answer)  # asked for the CNAME itself: nothing to chase
    alias = resolve("alias.default.svc.cluster.local", A, VIEW)
    assert alias is not None and alias.chase is None


def test_another_domain() -> None:
    assert resolve("web.default.svc.cluster.local", A, VIEW, "k8s.test") is None
    got = resolve("web.default.svc.K8S.test", A, VIEW, "k8s.test.")
    assert got is not None and lines(got.answer) == ["web.default.svc.K8S.test. A 10.96.0.10"]
    nx = resolve("nope.default.svc.k8s.test", A, VIEW, "k8s.test")
    assert nx is not None and nx.rcode == NXDOMAIN and nx.authority == (soa_record("k8s.test", 0),)
    ptr = resolve("10.0.96.10.in-addr.arpa", PTR, VIEW, "k8s.test")
    assert ptr is not None and lines(ptr.answer) == ["10.0.96.10.in-addr.arpa. PTR web.default.svc.k8s.test."]


def test_without_a_namespace_list_a_namespace_exists_when_a_service_is_in_it() -> None:
    view = StaticView(services=[service("web", "10.96.0.10")])
    assert view.namespace_exists("default") and not view.namespace_exists("other")
    got = resolve("10-0-0-1.default.pod.cluster.local", A, view)
    assert got is not None and lines(got.answer) == ["10-0-0-1.default.pod.cluster.local. A 10.0.0.1"]
    missing = resolve("10-0-0-1.other.pod.cluster.local", A, view)
    assert missing is not None and missing.rcode == NXDOMAIN


def test_a_chain_of_external_names_inside_the_zone_stops() -> None:
    """ExternalNames pointing at each other in a ring end after a bounded number of CNAMEs."""
    ring = [service(f"r{i}", None, kind="ExternalName", externalName=f"r{(i + 1) % 3}.default.svc.cluster.local",
                    ports=[]) for i in range(3)]
    got = resolve("r0.default.svc.cluster.local", A, StaticView(services=ring))
    assert got is not None and got.rcode == NOERROR
    assert 1 <= len(got.answer) <= 8 and {r.rdtype for r in got.answer} == {CNAME}


@pytest.mark.parametrize(("labels", "expected"), [
    (["svc"], Request("svc")),
    (["default", "svc"], Request("svc", "default")),
    (["web", "default", "svc"], Request("svc", "default", "web")),
    (["db-0", "db", "default", "svc"], Request("svc", "default", "db", endpoint="db-0")),
    (["_http", "_tcp", "web", "default", "svc"], Request("svc", "default", "web", port="http", protocol="tcp")),
    (["http", "tcp", "web", "default", "svc"], Request("svc", "default", "web", port="http", protocol="tcp")),
    (["1-2-3-4", "default", "pod"], Request("pod", "default", "1-2-3-4")),
    (["a", "b", "c", "web", "default", "svc"], None),
    (["web", "default", "svcx"], None),
    (["dns-version"], None),
])
def test_parse_request(labels: list[str], expected: Request | None) -> None:
    assert parse_request(labels) == expected


@pytest.mark.parametrize(("count", "weight"), [(1, 100), (2, 50), (3, 33), (100, 1), (150, 1)])
def test_srv_weight_shares_100_between_the_records(count: int, weight: int) -> None:
    entries = [Entry(f"10.0.{i // 256}.{i % 256}", 80, f"h{i}.s.ns.svc.cluster.local.") for i in range(count)]
    answer, additional = srv_records("_http._tcp.s.ns.svc.cluster.local.", entries)
    assert {r.data.split()[:2][1] for r in answer} == {str(weight)}
    assert {r.data.split()[0] for r in answer} == {"0"}
    assert len(answer) == len(additional) == count


def test_srv_skips_entries_without_a_port_but_counts_them() -> None:
    """CoreDNS counts every entry when sharing the weight, then drops those with port -1."""
    answer, _ = srv_records("s.", [Entry("10.0.0.1", 80, "a."), Entry("10.0.0.2", -1, "b.")])
    assert lines(answer) == ["s. SRV 0 50 80 a."]


@pytest.mark.parametrize(("endpoint", "ip", "name"), [
    ({"hostname": "web-0"}, "10.0.0.1", "web-0"),
    ({}, "10.0.0.1", "10-0-0-1"),
    ({"hostname": ""}, "10.0.0.1", "10-0-0-1"),
    ({}, "fd00::1", "fd00--1"),
])
def test_endpoint_hostname(endpoint: Obj, ip: str, name: str) -> None:
    assert endpoint_hostname(endpoint, ip) == name
