"""The proxy's host routes as tables: Services + EndpointSlices → host port → ready backends."""

from __future__ import annotations

from typing import Any

from boxk8s.proxy.listeners import HostListeners
from boxk8s.proxy.plan import Route, load_balancer_status, plan_host_ports, ready_backends

Obj = dict[str, Any]


def service(name: str, kind: str = "NodePort", ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"type": kind, "ports": ports if ports is not None else
                     [{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}], **spec}}


def endpoint(ip: str, ready: bool | None = True) -> Obj:
    e: Obj = {"addresses": [ip]}
    if ready is not None:
        e["conditions"] = {"ready": ready}
    return e


def slice_(service_name: str, endpoints: list[Obj], ports: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": f"{service_name}-x", "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": service_name}},
            "endpoints": endpoints,
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def test_a_node_port_routes_to_the_ready_endpoints_only() -> None:
    routes = plan_host_ports([service("web")], [slice_("web", [endpoint("10.0.0.2"), endpoint("10.0.0.1"),
                                                               endpoint("10.0.0.3", ready=False),
                                                               endpoint("10.0.0.4", ready=None)])])
    # An endpoint without conditions counts as ready (the API's meaning of an unset condition).
    assert routes == {30080: Route("ns/web", "http", (("10.0.0.1", 8080), ("10.0.0.2", 8080), ("10.0.0.4", 8080)))}


def test_only_node_port_and_load_balancer_services_listen() -> None:
    services = [service("a", "ClusterIP"), service("b", "ExternalName"),
                service("c", "LoadBalancer", [{"name": "", "port": 8443, "nodePort": 31000, "protocol": "TCP"}])]
    assert sorted(plan_host_ports(services, [])) == [8443, 31000]  # a load balancer: its port and its nodePort


def test_ports_are_matched_by_name_and_udp_is_not_proxied() -> None:
    svc = service("web", ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
                                {"name": "metrics", "port": 9100, "nodePort": 30091, "protocol": "TCP"},
                                {"name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP"}])
    slices = [slice_("web", [endpoint("10.0.0.1")], [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9100}]),
              slice_("web", [endpoint("10.0.0.9")], [{"name": "http", "port": 9999}]),
              slice_("other", [endpoint("10.9.9.9")])]
    routes = plan_host_ports([svc], slices)
    assert routes[30080].backends == (("10.0.0.1", 8080), ("10.0.0.9", 9999))  # per-slice port numbers
    assert routes[30091].backends == (("10.0.0.1", 9100),)
    assert 30053 not in routes


def test_session_affinity_and_a_port_two_load_balancers_want() -> None:
    first = service("a", "LoadBalancer", [{"name": "", "port": 8080, "nodePort": 30001}], sessionAffinity="ClientIP")
    second = service("b", "LoadBalancer", [{"name": "", "port": 8080, "nodePort": 30002}])
    routes = plan_host_ports([second, first], [])
    assert routes[8080].service == "ns/a" and routes[8080].client_ip_affinity  # first by name wins the shared port
    assert routes[30002].service == "ns/b" and not routes[30002].client_ip_affinity


def test_ready_backends_ignore_slices_without_the_port() -> None:
    assert ready_backends([slice_("web", [endpoint("10.0.0.1")], [])], "http") == ()


def test_load_balancer_status() -> None:
    assert load_balancer_status({}, "127.0.0.1", True) == {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}
    assert load_balancer_status({}, "127.0.0.1", False) == {}


def test_backends_are_taken_in_turn_or_kept_per_client_ip() -> None:
    listeners = HostListeners("127.0.0.1")
    backends = (("10.0.0.1", 80), ("10.0.0.2", 80), ("10.0.0.3", 80))
    spread = Route("ns/web", "", backends)
    firsts = {listeners.choose(spread, "192.0.2.1")[0] for _ in range(6)}
    assert firsts == set(backends)  # round robin reaches every backend
    assert sorted(listeners.choose(spread, "192.0.2.1")) == sorted(backends)  # the rest follow as fallbacks
    sticky = Route("ns/web", "", backends, client_ip_affinity=True)
    mine = {listeners.choose(sticky, "192.0.2.1")[0] for _ in range(6)}
    assert len(mine) == 1
    # the affine backend gone: another is chosen and kept
    shrunk = Route("ns/web", "", tuple(b for b in backends if b not in mine), client_ip_affinity=True)
    again = {listeners.choose(shrunk, "192.0.2.1")[0] for _ in range(6)}
    assert len(again) == 1 and not again & mine
    assert listeners.choose(Route("ns/web", "", ()), "192.0.2.1") == []
