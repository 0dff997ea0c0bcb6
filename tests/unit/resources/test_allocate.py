from __future__ import annotations

import ipaddress

import pytest

from boxk8s import errors
from boxk8s.resources import allocate


@pytest.mark.parametrize(
    ("spec", "used", "expected"),
    [
        ({"type": "ClusterIP"}, set(), "10.244.193.0"),  # above the static band (256 addresses of a /18)
        ({"type": "ClusterIP"}, {"10.244.193.0", "10.244.193.1"}, "10.244.193.2"),
        ({"clusterIP": "10.244.192.10"}, {"10.244.193.0"}, "10.244.192.10"),  # asked for, in the band
        ({"clusterIP": "10.244.200.5"}, {"10.244.193.0"}, "10.244.200.5"),
        ({"clusterIP": "None"}, set(), "None"),
        ({"type": "ExternalName", "externalName": "x.example"}, set(), None),
    ],
)
def test_plan_cluster_ip(spec: dict, used: set[str], expected: str | None) -> None:
    assert allocate.plan_cluster_ip(spec, used, "svc") == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"clusterIP": "10.244.193.0"}, "already allocated"),
        ({"clusterIP": "192.168.1.1"}, "not in the valid range. The range of valid IPs is 10.244.192.0/18"),
        ({"clusterIP": "nope"}, "must be a valid IP address"),
    ],
)
def test_plan_cluster_ip_refuses(spec: dict, message: str) -> None:
    with pytest.raises(errors.Invalid) as e:
        allocate.plan_cluster_ip(spec, {"10.244.193.0"}, "svc")
    assert message in e.value.message and e.value.causes


@pytest.mark.parametrize(("cidr", "band"), [
    ("10.96.0.0/12", 256), ("10.244.192.0/18", 256), ("10.0.0.0/24", 16), ("10.0.0.0/20", 256),
    ("10.0.0.0/22", 64), ("10.0.0.0/28", 0), ("10.0.0.0/30", 0),
])
def test_static_band_as_upstreams_calculate_range_offset(cidr: str, band: int) -> None:
    assert allocate.static_band(ipaddress.ip_network(cidr)) == band


def test_a_full_dynamic_range_falls_back_to_the_static_band() -> None:
    used = {f"10.0.0.{i}" for i in range(16, 255)}
    assert allocate.plan_cluster_ip({}, used, "s", "10.0.0.0/24") == "10.0.0.1"
    with pytest.raises(errors.InternalError, match="range is full"):
        allocate.plan_cluster_ip({}, used | {f"10.0.0.{i}" for i in range(1, 16)}, "s", "10.0.0.0/24")


def test_node_ports_only_for_nodeport_types() -> None:
    ports = [{"port": 80}, {"port": 443, "nodePort": 30001}]
    assert allocate.plan_node_ports({"type": "NodePort", "ports": ports}, {30000}, "s") == [30002, 30001]
    assert allocate.plan_node_ports({"type": "ClusterIP", "ports": [{"port": 80}]}, set(), "s") == [None]
    with pytest.raises(errors.Invalid):
        allocate.plan_node_ports({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30000}]}, {30000}, "s")
    with pytest.raises(errors.Invalid):
        allocate.plan_node_ports({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}, set(), "s")


def test_keep_allocated_on_update() -> None:
    old = {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
           "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}
    new = {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}
    allocate.keep_allocated(new, old)
    assert new["clusterIP"] == "10.96.0.10" and new["ports"][0]["nodePort"] == 30080
