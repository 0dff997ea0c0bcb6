"""Fixed pod IPs for solo pods: halves of the subnet, round robin, reservations, exhaustion."""

from __future__ import annotations

import ipaddress

import pytest

from boxk8s.kubelet.runtime.addresses import AddressesExhausted, PodAddresses, split_subnet
from boxk8s.kubelet.runtime.base import ContainerConfig, RuntimeSettings, SandboxConfig, SandboxState
from boxk8s.kubelet.runtime.docker_specs import (
    LABEL_POD_IP,
    container_spec,
    solo_sandbox_id,
    solo_sandbox_state,
)


@pytest.mark.parametrize(("subnet", "expected"), [
    ("10.244.0.0/16", ("10.244.0.0/17", "10.244.128.0/18")),  # the top quarter is the Services'
    ("10.213.7.0/24", ("10.213.7.0/25", "10.213.7.128/26")),
    ("10.213.7.9/24", ("10.213.7.0/25", "10.213.7.128/26")),  # host bits ignored, as Docker does
    ("10.0.0.0/28", ("10.0.0.0/29", "10.0.0.8/30")),
    ("10.0.0.0/29", None),  # too small to split usefully
    ("fd00::/64", None),
    ("not a subnet", None),
])
def test_split_subnet(subnet: str, expected: tuple[str, str] | None) -> None:
    got = split_subnet(subnet)
    assert (None if got is None else (got[0], str(got[1]))) == expected


def test_allocate_is_stable_per_owner_and_round_robin() -> None:
    book = PodAddresses("10.0.0.0/27")  # fixed quarter 10.0.0.16/29: .16 … .23
    a = book.allocate("a")
    assert a == "10.0.0.16" and book.allocate("a") == a and book.of("a") == a
    b = book.allocate("b")
    assert b == "10.0.0.17"
    book.release("a")
    # A released address is the last to come back: the next owners get the following ones.
    assert [book.allocate(o) for o in "cdefgh"] == ["10.0.0.18", "10.0.0.19", "10.0.0.20", "10.0.0.21",
                                                    "10.0.0.22", "10.0.0.23"]
    assert book.allocate("i") == "10.0.0.16"  # wrapped around to the freed one
    with pytest.raises(AddressesExhausted):
        book.allocate("j")
    assert not {book.of(o) for o in "bcdefghi"} & {"10.0.0.24", "10.0.0.31"}  # the Services' quarter


def test_reservations_are_skipped_and_kept() -> None:
    book = PodAddresses("10.0.0.0/24")
    book.reserve("old-pod", "10.0.0.128")
    book.reserve("endpoint:x", "10.0.0.129")
    book.reserve("late", "10.0.0.128")  # taken: not recorded twice
    assert book.of("late") == ""
    assert "10.0.0.128" in book and "10.0.0.129" in book
    assert book.allocate("new") == "10.0.0.130"
    assert book.allocate("old-pod") == "10.0.0.128"
    book.release("old-pod")
    assert "10.0.0.128" not in book


def test_disabled_for_unsplittable_subnets() -> None:
    assert not PodAddresses("fd00::/64").enabled
    assert PodAddresses("10.1.0.0/16").enabled


def test_solo_container_spec_round_trips_the_sandbox() -> None:
    settings = RuntimeSettings(cluster="c1", node="n1", pod_subnet="10.9.0.0/24")
    config = SandboxConfig(namespace="ns", pod_name="web-0", pod_uid="u-1", hostname="web-0",
                           aliases=("web-0.web", "web-0.web.ns"), dns_search=("ns.svc.cluster.local",), solo=True)
    sandbox = SandboxState(solo_sandbox_id("u-1"), "ns", "web-0", "u-1", "10.9.0.130", True, config)
    spec = container_spec(settings, sandbox, ContainerConfig(name="main", image="busybox"), [], [])
    assert spec["Hostname"] == "web-0"
    assert spec["HostConfig"]["NetworkMode"] == "boxk8s-c1"
    assert spec["HostConfig"]["DnsSearch"] == ["ns.svc.cluster.local"]
    endpoint = spec["NetworkingConfig"]["EndpointsConfig"]["boxk8s-c1"]
    assert endpoint == {"Aliases": ["web-0.web", "web-0.web.ns"], "IPAMConfig": {"IPv4Address": "10.9.0.130"}}
    assert spec["Labels"][LABEL_POD_IP] == "10.9.0.130"
    again = solo_sandbox_state(spec["Labels"])
    assert again == sandbox and again is not None and again.config == config
    assert ipaddress.ip_address(again.ip) in ipaddress.ip_network("10.9.0.128/25")


def test_joined_container_spec_has_no_network_of_its_own() -> None:
    settings = RuntimeSettings(cluster="c1", node="n1")
    sandbox = SandboxState("abc123", "ns", "p", "u-2", "10.9.0.5", True)
    spec = container_spec(settings, sandbox, ContainerConfig(name="main", image="busybox"), [], [])
    assert spec["HostConfig"]["NetworkMode"] == "container:abc123"
    assert "Hostname" not in spec and "NetworkingConfig" not in spec and LABEL_POD_IP not in spec["Labels"]
    assert solo_sandbox_state(spec["Labels"]) is None


def test_use_subnet_switches_to_the_networks_own() -> None:
    book = PodAddresses("10.1.0.0/24")
    book.use_subnet("10.2.0.0/24")  # the network existed with another subnet
    assert book.allocate("a") == "10.2.0.128"
    book.use_subnet("fd00::/64")
    assert not book.enabled
