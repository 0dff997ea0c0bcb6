"""ClusterIP balancing as tables: Services + EndpointSlices → balanced ports → the nft ruleset."""

from __future__ import annotations

import re
from typing import Any

from boxk8s.proxy.cluster_ip_plan import (
    ServicePort,
    plan_dataplane,
    plan_rules,
    plan_service_ports,
    render_ruleset,
)
from boxk8s.proxy.plan import ready_backends
from tests.unit.proxy.test_plan import endpoint, slice_

Obj = dict[str, Any]


def service(name: str, ip: str = "10.244.193.1", ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"type": "ClusterIP", "clusterIP": ip,
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "protocol": "TCP"}],
                     **spec}}


def test_each_port_of_a_service_with_a_cluster_ip_is_balanced_over_its_ready_endpoints() -> None:
    svc = service("web", ports=[{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"},
                                {"name": "sctp", "port": 9, "protocol": "SCTP"}])
    slices = [slice_("web", [endpoint("10.244.128.2"), endpoint("10.244.128.1"), endpoint("10.244.128.3", ready=False)],
                     [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "dns", "port": 5353, "protocol": "UDP"}])]
    assert plan_service_ports([svc], slices) == [
        ServicePort("ns/web", "http", "TCP", "10.244.193.1", 80, (("10.244.128.1", 8080), ("10.244.128.2", 8080))),
        ServicePort("ns/web", "dns", "UDP", "10.244.193.1", 53, (("10.244.128.1", 5353), ("10.244.128.2", 5353))),
    ]  # SCTP is not balanced


def test_headless_external_name_and_ipv6_services_are_not_balanced() -> None:
    services = [service("headless", ip="None"), service("v6", ip="fd00::1"),
                {"metadata": {"name": "ext", "namespace": "ns"}, "spec": {"type": "ExternalName", "externalName": "x.y"}}]
    plan = plan_dataplane(services, [slice_("headless", [endpoint("10.244.128.1")])])
    assert plan.addresses == frozenset() and plan.chains == frozenset()
    assert "goto svc-" not in render_ruleset(plan, None)


def test_a_service_with_no_ready_endpoint_holds_its_ip_but_has_no_rule() -> None:
    plan = plan_dataplane([service("web")], [slice_("web", [endpoint("10.244.128.1", ready=False)])])
    assert plan.addresses == {"10.244.193.1"}
    assert "10.244.193.1" not in render_ruleset(plan, None)  # the agent's kernel refuses the connection itself


def test_terminating_endpoints_serve_only_when_none_is_ready() -> None:
    draining = {"addresses": ["10.244.128.9"], "conditions": {"ready": False, "serving": True, "terminating": True}}
    assert ready_backends([slice_("web", [endpoint("10.244.128.1"), draining])], "http") == (("10.244.128.1", 8080),)
    assert ready_backends([slice_("web", [draining, endpoint("10.244.128.2", ready=False)])], "http") == \
        (("10.244.128.9", 8080),)


def test_loopback_endpoints_are_left_out() -> None:
    """The `kubernetes` Service's endpoint is the API server on the host's loopback: unreachable from the agent."""
    [sp] = plan_service_ports([service("kubernetes")], [slice_("kubernetes", [endpoint("127.0.0.1")])])
    assert sp.backends == ()


def test_the_first_ruleset_replaces_the_table_and_picks_one_endpoint_at_random() -> None:
    plan = plan_rules([ServicePort("ns/web", "http", "TCP", "10.244.193.1", 80,
                                   (("10.244.128.1", 8080), ("10.244.128.2", 8080)))])
    text = render_ruleset(plan, None)
    lines = text.splitlines()
    assert lines[:3] == ["add table ip boxk8s", "delete table ip boxk8s", "add table ip boxk8s"]
    dispatch = next(line for line in lines if "ip daddr" in line)
    svc_chain = re.search(r"goto (svc-\w+)", dispatch)
    assert svc_chain and "nat-prerouting ip daddr 10.244.193.1 tcp dport 80" in dispatch
    choose = next(line for line in lines if "numgen" in line)
    assert f"add rule ip boxk8s {svc_chain.group(1)} numgen random mod 2 vmap" in choose
    endpoints = re.findall(r"goto (ep-\w+)", choose)
    assert len(set(endpoints)) == 2 and plan.chains == {svc_chain.group(1), *endpoints}
    assert "meta l4proto tcp dnat to 10.244.128.1:8080" in text and "meta l4proto tcp dnat to 10.244.128.2:8080" in text
    assert "add rule ip boxk8s nat-postrouting ct status dnat masquerade" in text
    # every chain is declared before a rule jumps to it
    for chain in plan.chains:
        assert text.index(f"add chain ip boxk8s {chain}") < text.index(f"goto {chain}")


def test_a_later_ruleset_flushes_keeps_the_sets_and_deletes_what_is_no_longer_used() -> None:
    two = (("10.244.128.1", 8080), ("10.244.128.2", 8080))
    before = plan_rules([ServicePort("ns/web", "http", "TCP", "10.244.193.1", 80, two, 60),
                         ServicePort("ns/old", "http", "TCP", "10.244.193.2", 80, two[:1])])
    after = plan_rules([ServicePort("ns/web", "http", "TCP", "10.244.193.1", 80, two[:1], 60)])
    text = render_ruleset(after, before)
    lines = text.splitlines()
    assert lines[:2] == ["add table ip boxk8s", "flush table ip boxk8s"] and "delete table" not in text
    gone_chains, gone_sets = before.chains - after.chains, before.sets - after.sets
    assert len(gone_chains) == 3 and len(gone_sets) == 1  # old's two chains, web's second endpoint; its set
    assert {f"delete chain ip boxk8s {c}" for c in gone_chains} | {f"delete set ip boxk8s {s}" for s in gone_sets} \
        == {line for line in lines if line.startswith("delete ")}
    [kept] = after.sets
    assert f"add set ip boxk8s {kept} " in text  # declared again (a no-op for an existing set: its clients stay)


def test_client_ip_affinity_records_and_checks_the_client_per_endpoint() -> None:
    svc = service("web", sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    plan = plan_dataplane([svc], [slice_("web", [endpoint("10.244.128.1"), endpoint("10.244.128.2")])])
    text = render_ruleset(plan, None)
    assert len(plan.sets) == 2 and "timeout 60s" in text
    for name in plan.sets:
        assert f"ip saddr @{name} goto ep-" in text and f"update @{name} {{ ip saddr }}" in text
    # the checks come before the random pick
    assert text.index("ip saddr @aff-") < text.index("numgen random")


def test_default_affinity_timeout_is_three_hours() -> None:
    [sp] = plan_service_ports([service("web", sessionAffinity="ClientIP")], [slice_("web", [endpoint("10.244.128.1")])])
    assert sp.affinity_seconds == 10800


def test_the_plan_is_stable_so_an_unchanged_cluster_is_not_reapplied() -> None:
    services = [service("b", ip="10.244.193.2"), service("a")]
    slices = [slice_("a", [endpoint("10.244.128.1")]), slice_("b", [endpoint("10.244.128.2")])]
    assert plan_dataplane(services, slices) == plan_dataplane(list(reversed(services)), list(reversed(slices)))
