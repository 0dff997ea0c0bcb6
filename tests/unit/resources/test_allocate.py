from __future__ import annotations

import pytest

from boxk8s import errors
from boxk8s.resources import allocate


@pytest.mark.parametrize(
    ("spec", "used", "expected"),
    [
        ({"type": "ClusterIP"}, set(), "10.96.0.10"),
        ({"type": "ClusterIP"}, {"10.96.0.10", "10.96.0.11"}, "10.96.0.12"),
        ({"clusterIP": "10.96.5.5"}, {"10.96.0.10"}, "10.96.5.5"),
        ({"clusterIP": "None"}, set(), "None"),
        ({"type": "ExternalName", "externalName": "x.example"}, set(), None),
    ],
)
def test_plan_cluster_ip(spec: dict, used: set[str], expected: str | None) -> None:
    assert allocate.plan_cluster_ip(spec, used, "svc") == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"clusterIP": "10.96.0.10"}, "already allocated"),
        ({"clusterIP": "192.168.1.1"}, "not in the valid range"),
        ({"clusterIP": "nope"}, "must be a valid IP address"),
    ],
)
def test_plan_cluster_ip_refuses(spec: dict, message: str) -> None:
    with pytest.raises(errors.Invalid) as e:
        allocate.plan_cluster_ip(spec, {"10.96.0.10"}, "svc")
    assert message in e.value.message and e.value.causes


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
