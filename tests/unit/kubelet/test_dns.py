"""dnsPolicy + dnsConfig + the kubelet's settings → the pod's resolv.conf: tables of cases
(the behaviour of upstream pkg/kubelet/network/dns/dns.go, and the pod DNS doc's example)."""

from __future__ import annotations

from typing import Any

import pytest

from boxk8s.kubelet.dns import (
    DnsConfig,
    DnsWarning,
    PodDns,
    merge_options,
    parse_resolv_conf,
    plan_pod_dns,
    pod_dns_type,
)

CLUSTER_DNS = ("10.96.0.10",)
HOST = "nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example lan.\noptions edns0 timeout:2\n"
RESOLVED = "# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
CLUSTER_SEARCH = "search dev.svc.cluster.local svc.cluster.local cluster.local"
MISSING = ('pod: "web_dev(u-1)". kubelet does not have ClusterDNS IP configured and cannot create Pod using '
           '"ClusterFirst" policy. Falling back to "Default" policy.')


def pod(spec: dict[str, Any] | None = None, namespace: str | None = "dev") -> dict[str, Any]:
    md: dict[str, Any] = {"name": "web", "uid": "u-1"}
    if namespace is not None:
        md["namespace"] = namespace
    return {"metadata": md, "spec": {"containers": [{"name": "app", "image": "busybox"}], **(spec or {})}}


def plan(spec: dict[str, Any] | None = None, *, cluster_dns: tuple[str, ...] = CLUSTER_DNS,
         domain: str = "cluster.local", host: str = HOST, namespace: str | None = "dev") -> PodDns:
    return plan_pod_dns(pod(spec, namespace), cluster_dns=cluster_dns, cluster_domain=domain, host_resolv_conf=host)


def reasons(dns: PodDns) -> list[str]:
    return [w.reason for w in dns.warnings]


# ---- the policies --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "spec", "kw", "expected", "warned"), [
    ("unset policy is ClusterFirst: cluster servers, cluster search then the node's, ndots:5",
     {}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("ClusterFirst", {"dnsPolicy": "ClusterFirst"}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("several cluster DNS servers, in order", {}, {"cluster_dns": ("10.96.0.10", "10.96.0.11")},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n", []),
    ("no node resolv.conf: the cluster search only", {}, {"host": ""},
     f"{CLUSTER_SEARCH}\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("the node's search duplicating the cluster's is dropped", {}, {"host": "search cluster.local x.example\n"},
     f"{CLUSTER_SEARCH} x.example\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("no cluster domain: the node's search only", {}, {"domain": ""},
     "search corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("ClusterFirst without cluster DNS: the runtime's default, MissingClusterDNS",
     {}, {"cluster_dns": ()}, None, ["MissingClusterDNS"]),
    ("ClusterFirst on the host network is Default", {"hostNetwork": True}, {}, None, []),
    ("ClusterFirstWithHostNet on the host network", {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("ClusterFirstWithHostNet off the host network is ClusterFirst", {"dnsPolicy": "ClusterFirstWithHostNet"}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("ClusterFirstWithHostNet without cluster DNS", {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
     {"cluster_dns": ()}, None, ["MissingClusterDNS"]),
    ("Default: the runtime's default, which resolves as the node does", {"dnsPolicy": "Default"}, {}, None, []),
    ("an unknown policy is ClusterFirst, as upstream falls back to it", {"dnsPolicy": "Bogus"}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots:5\n", []),
    ("None: the pod DNS doc's example, exactly",
     {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["192.0.2.1"],
                                         "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}, {},
     "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0\n", []),
    ("None takes nothing from the node nor the cluster",
     {"dnsPolicy": "None", "dnsConfig": {"searches": ["a.example"]}}, {}, "search a.example\n", []),
    ("None without dnsConfig (the API server refuses it): an empty file, as upstream",
     {"dnsPolicy": "None"}, {}, "", []),
    ("None: dnsConfig's own loopback server is kept (a DNS cache in the pod)",
     {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["127.0.0.1"]}}, {"host": RESOLVED},
     "nameserver 127.0.0.1\n", []),
])
def test_policies(case: str, spec: dict[str, Any], kw: dict[str, Any], expected: str | None,
                  warned: list[str]) -> None:
    dns = plan(spec, **kw)
    assert dns.resolv_conf == expected, case
    assert reasons(dns) == warned, case


def test_missing_cluster_dns_says_what_upstream_says() -> None:
    assert plan({}, cluster_dns=()).warnings == (DnsWarning("MissingClusterDNS", MISSING),)


def test_a_pod_without_namespace_is_in_default() -> None:
    assert plan({}, namespace=None, host="").resolv_conf == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, "cluster"),
    ({"dnsPolicy": ""}, "cluster"),
    ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, "host"),
    ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, "cluster"),
    ({"dnsPolicy": "Default"}, "host"),
    ({"dnsPolicy": "None"}, "none"),
])
def test_pod_dns_type(spec: dict[str, Any], expected: str) -> None:
    assert pod_dns_type(pod(spec)) == expected


# ---- dnsConfig merged into the policy's base -------------------------------------------------------------

@pytest.mark.parametrize(("case", "spec", "kw", "expected", "warned"), [
    ("ClusterFirst + dnsConfig: servers and searches appended without duplicates, options overridden",
     {"dnsConfig": {"nameservers": ["10.0.0.9", "10.96.0.10"], "searches": ["svc.cluster.local", "extra.example"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "single-request-reopen"}]}}, {},
     f"{CLUSTER_SEARCH} corp.example lan extra.example\nnameserver 10.96.0.10\nnameserver 10.0.0.9\n"
     "options ndots:2 single-request-reopen\n", []),
    ("an option given without value replaces one with a value",
     {"dnsConfig": {"options": [{"name": "ndots"}]}}, {},
     f"{CLUSTER_SEARCH} corp.example lan\nnameserver 10.96.0.10\noptions ndots\n", []),
    ("Default + dnsConfig: the node's file merged with it",
     {"dnsPolicy": "Default", "dnsConfig": {"options": [{"name": "ndots", "value": "1"}, {"name": "timeout",
                                                                                        "value": "5"}]}}, {},
     "search corp.example lan\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions edns0 timeout:5 ndots:1\n", []),
    ("Default + dnsConfig on a systemd-resolved node: its loopback server left out, dnsConfig's used",
     {"dnsPolicy": "Default", "dnsConfig": {"nameservers": ["1.1.1.1"]}}, {"host": RESOLVED},
     "search lan\nnameserver 1.1.1.1\noptions edns0 trust-ad\n", ["DNSConfigForming"]),
    ("Default + dnsConfig, no reachable server at all: the runtime's default, and why",
     {"dnsPolicy": "Default", "dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}}, {"host": RESOLVED},
     None, ["DNSConfigForming", "DNSConfigForming"]),
    ("Default + dnsConfig, ::1 and 127.x are loopback too",
     {"dnsPolicy": "Default", "dnsConfig": {"searches": ["x.example"]}},
     {"host": "nameserver ::1\nnameserver 127.0.1.1\nnameserver 10.0.0.2\n"},
     "search x.example\nnameserver 10.0.0.2\n", ["DNSConfigForming"]),
    ("Default + dnsConfig on the host network keeps the node's loopback server (it is reachable there)",
     {"dnsPolicy": "Default", "hostNetwork": True, "dnsConfig": {"searches": ["x.example"]}}, {"host": RESOLVED},
     "search lan x.example\nnameserver 127.0.0.53\noptions edns0 trust-ad\n", []),
    ("ClusterFirst without cluster DNS + dnsConfig: Default's file, as upstream falls through",
     {"dnsConfig": {"searches": ["x.example"]}}, {"cluster_dns": ()},
     "search corp.example lan x.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions edns0 timeout:2\n",
     ["MissingClusterDNS"]),
])
def test_dns_config_merging(case: str, spec: dict[str, Any], kw: dict[str, Any], expected: str | None,
                            warned: list[str]) -> None:
    dns = plan(spec, **kw)
    assert dns.resolv_conf == expected, case
    assert reasons(dns) == warned, case


def test_a_left_out_loopback_server_is_named() -> None:
    dns = plan({"dnsPolicy": "Default", "dnsConfig": {"nameservers": ["1.1.1.1"]}}, host=RESOLVED)
    assert "127.0.0.53" in dns.warnings[0].message


@pytest.mark.parametrize(("existing", "given", "expected"), [
    ((), [], ()),
    (("ndots:5",), [{"name": "ndots", "value": "2"}], ("ndots:2",)),
    (("edns0", "ndots:5", "timeout:2"), [{"name": "ndots", "value": "1"}, {"name": "rotate"}],
     ("edns0", "ndots:1", "timeout:2", "rotate")),
    (("ndots:5",), [{"name": "ndots", "value": ""}], ("ndots",)),
    (("ndots:5", "ndots:3"), [], ("ndots:3",)),  # duplicates: the last value, as a map keeps it
    ((), [{"name": "attempts", "value": 3}], ("attempts:3",)),
])
def test_merge_options(existing: tuple[str, ...], given: list[dict[str, Any]], expected: tuple[str, ...]) -> None:
    assert merge_options(existing, given) == expected


# ---- limits ----------------------------------------------------------------------------------------------

def test_more_than_three_nameservers_are_cut_with_upstreams_warning() -> None:
    dns = plan({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}})
    assert dns.config is not None and dns.config.servers == ("1.1.1.1", "1.0.0.1", "8.8.8.8")
    assert dns.warnings == (DnsWarning(
        "DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                            "nameserver line is: 1.1.1.1 1.0.0.1 8.8.8.8"),)


def test_the_cluster_servers_come_first_when_cut() -> None:
    dns = plan({"dnsConfig": {"nameservers": ["10.0.0.1", "10.0.0.2", "10.0.0.3"]}})
    assert dns.config is not None and dns.config.servers == ("10.96.0.10", "10.0.0.1", "10.0.0.2")
    assert reasons(dns) == ["DNSConfigForming"]


def test_more_than_32_search_paths_are_cut() -> None:
    searches = [f"d{i}.example" for i in range(40)]
    dns = plan({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": searches}})
    assert dns.config is not None and dns.config.searches == tuple(searches[:32])
    assert dns.warnings == (DnsWarning(
        "DNSConfigForming", "Search Line limits were exceeded, some search paths have been omitted, the applied "
                            f"search line is: {' '.join(searches[:32])}"),)


def test_the_cluster_search_counts_towards_the_limit() -> None:
    searches = [f"d{i}.example" for i in range(30)]
    dns = plan({"dnsConfig": {"searches": searches}}, host="")
    assert dns.config is not None and len(dns.config.searches) == 32
    assert dns.config.searches[:3] == ("dev.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert dns.config.searches[-1] == "d28.example"


def test_a_search_path_longer_than_253_characters_is_dropped() -> None:
    long = ".".join(["a" * 60] * 5)  # 304 characters
    dns = plan({"dnsPolicy": "None", "dnsConfig": {"searches": ["a.example", long, "b.example"]}})
    assert dns.config is not None and dns.config.searches == ("a.example", "b.example")
    assert reasons(dns) == ["DNSConfigForming"]


def test_a_search_line_longer_than_2048_characters_loses_paths_from_its_end() -> None:
    searches = [f"{i:02d}" + "x" * 98 + ".example" for i in range(25)]  # 108 characters each, 2724 in all
    dns = plan({"dnsPolicy": "None", "dnsConfig": {"searches": searches}})
    assert dns.config is not None
    assert dns.config.searches == tuple(searches[:18])  # 18 × 108 + 17 spaces = 1961; 19 would be 2070
    assert len(" ".join(dns.config.searches)) <= 2048
    assert reasons(dns) == ["DNSConfigForming"]


def test_both_limits_both_warn() -> None:
    dns = plan({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"],
                                                   "searches": [f"d{i}.example" for i in range(33)]}})
    assert [w.message.split(",")[0] for w in dns.warnings] == ["Nameserver limits were exceeded",
                                                               "Search Line limits were exceeded"]


# ---- the node's resolv.conf ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("", DnsConfig()),
    (HOST, DnsConfig(("10.0.0.2", "10.0.0.3"), ("corp.example", "lan"), ("edns0", "timeout:2"))),
    ("# comment\n  nameserver 1.1.1.1  # trailing\n\nnameserver\n", DnsConfig(("1.1.1.1",))),  # bad line skipped
    ("search a.example\nsearch b.example. c.example\n", DnsConfig(searches=("b.example", "c.example"))),  # last wins
    ("options ndots:1\noptions rotate\n", DnsConfig(options=("rotate",))),  # last wins
    ("domain corp.example\nsortlist 10.0.0.0/8\n", DnsConfig()),  # not used, as upstream
])
def test_parse_resolv_conf(text: str, expected: DnsConfig) -> None:
    assert parse_resolv_conf(text) == expected


def test_render_is_containerd_s_order() -> None:
    config = DnsConfig(("10.96.0.10", "10.0.0.2"), ("a.example", "b.example"), ("ndots:5", "edns0"))
    assert config.render() == ("search a.example b.example\nnameserver 10.96.0.10\nnameserver 10.0.0.2\n"
                               "options ndots:5 edns0\n")
    assert PodDns(None).resolv_conf is None
