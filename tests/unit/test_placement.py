"""Which pod subnet and ports a cluster takes, given what the machine already uses."""

from __future__ import annotations

import socket

import pytest

from boxk8s.placement import (
    NoFreeSubnet,
    choose_port,
    choose_subnet,
    exposure_warning,
    listen,
    port_candidates,
    port_free,
    subnet_candidates,
    system_port,
)

POOL = "10.244.0.0/16"


def test_candidates_are_the_pool_start_and_the_subnets_of_its_size_after_it() -> None:
    assert subnet_candidates(POOL)[:3] == ["10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/16"]
    assert subnet_candidates(POOL)[-1] == "10.255.0.0/16"
    assert subnet_candidates("10.200.0.0/16", 3) == ["10.200.0.0/16", "10.201.0.0/16", "10.202.0.0/16"]
    assert subnet_candidates("10.200.7.0/24", 2) == ["10.200.7.0/24", "10.200.8.0/24"]
    assert subnet_candidates("255.254.0.0/16", 5) == ["255.254.0.0/16", "255.255.0.0/16"]  # never past the end


@pytest.mark.parametrize(("used", "preferred", "chosen"), [
    ([], "", "10.244.0.0/16"),  # an empty machine: the first
    (["172.17.0.0/16"], "", "10.244.0.0/16"),  # Docker's own bridge is elsewhere
    (["10.244.0.0/16"], "", "10.245.0.0/16"),  # another cluster's network
    (["10.244.3.0/24"], "", "10.245.0.0/16"),  # any overlap counts, a smaller network inside too
    (["10.0.0.0/8"], "", None),  # one big network over the whole pool
    (["10.244.0.0/16", "10.245.0.0/16", "10.247.0.0/16"], "", "10.246.0.0/16"),  # the first gap
    (["10.244.0.0/16"], "10.250.0.0/16", "10.250.0.0/16"),  # the recorded one while free
    (["10.250.0.0/16"], "10.250.0.0/16", "10.244.0.0/16"),  # taken since: the first free
    (["10.244.0.0/16"], "192.168.90.0/24", "192.168.90.0/24"),  # a given subnet outside the pool
    (["fd00::/64", "not a subnet"], "", "10.244.0.0/16"),  # IPv6 and garbage never block
])
def test_subnet_choice(used: list[str], preferred: str, chosen: str | None) -> None:
    if chosen is None:
        with pytest.raises(NoFreeSubnet, match="--pod-subnet"):
            choose_subnet(used, preferred=preferred, start=POOL)
    else:
        assert choose_subnet(used, preferred=preferred, start=POOL) == chosen


def test_subnet_choice_from_another_pool() -> None:
    used = [f"10.{n}.0.0/16" for n in range(200, 205)]
    assert choose_subnet(used, start="10.200.0.0/16") == "10.205.0.0/16"
    with pytest.raises(NoFreeSubnet):
        choose_subnet(used, start="10.200.0.0/16", count=5)


@pytest.mark.parametrize(("preferred", "free", "taken", "chosen"), [
    ([0, 6443], {6443}, set(), 6443),  # nothing recorded: the default
    ([6444, 6443], {6443, 6444}, set(), 6444),  # the recorded one first
    ([6444, 6443], {6443}, set(), 6443),  # recorded but taken now: the default
    ([6443, 6444, 6445], {6445}, set(), 6445),  # the default taken: the next free neighbour
    ([6443], set(), set(), None),  # none free: ask the system
    ([8080, 8081], {8080, 8081}, {8080}, 8081),  # 8080 went to another listener of this cluster
])
def test_port_choice(preferred: list[int], free: set[int], taken: set[int], chosen: int | None) -> None:
    assert choose_port(preferred, free.__contains__, taken) == chosen


def test_a_port_in_use_is_not_free_and_the_system_gives_another() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        other = system_port("127.0.0.1", taken={port})
        assert other != port and port_free("127.0.0.1", other)
    assert port_free("127.0.0.1", port)


def test_port_candidates_are_the_preferred_then_the_ten_after_the_default() -> None:
    assert port_candidates([0, 6443]) == [0, 6443, *range(6444, 6454)]
    assert port_candidates([6450, 6443]) == [6450, 6443, *range(6444, 6454)]
    assert port_candidates([65530]) == [65530, *range(65531, 65536)]


def test_listen_gives_way_to_a_free_port_only_when_allowed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        with pytest.raises(OSError):
            listen("127.0.0.1", port)  # a port given by the user: taken is an error
        with listen("127.0.0.1", port, fallback=True) as sock:  # a port chosen for the user: another
            assert sock.getsockname()[1] != port


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_warning_on_loopback(host: str) -> None:
    assert exposure_warning(host) == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "myhost.example.com"])
def test_a_warning_off_loopback(host: str) -> None:
    line = exposure_warning(host)
    assert line.startswith(f"listening on {host}, not 127.0.0.1") and "\n" not in line
