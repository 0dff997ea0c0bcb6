"""Labelled, prefixed Docker objects for tests, and their removal.

Use the fixture in a test module with `from tests.e2e.docker_cleanup import docker_cluster`
(pytest finds imported fixtures). Synchronous (the docker CLI), so it works from any fixture.
"""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
import uuid
from collections.abc import Iterator

import pytest

LABEL_CLUSTER = "io.boxk8s.cluster"  # = base.LABEL_CLUSTER, kept literal so this helper imports nothing


def _docker(*args: str, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def cluster_objects(cluster: str) -> dict[str, list[str]]:
    """Ids/names of every container, network and volume labelled with `cluster`."""
    label = f"label={LABEL_CLUSTER}={cluster}"
    return {
        "containers": _docker("ps", "-aq", "--no-trunc", "--filter", label).split(),
        "networks": _docker("network", "ls", "-q", "--filter", label).split(),
        "volumes": _docker("volume", "ls", "-q", "--filter", label).split(),
    }


def remove_cluster_objects(cluster: str) -> None:
    """Remove every container, network and volume labelled with `cluster` (containers first)."""
    objects = cluster_objects(cluster)
    if objects["containers"]:
        _docker("rm", "-f", "-v", *objects["containers"], check=False)
    for network in objects["networks"]:
        _docker("network", "rm", network, check=False)
    if objects["volumes"]:
        _docker("volume", "rm", "-f", *objects["volumes"], check=False)


def used_subnets() -> list[ipaddress.IPv4Network]:
    ids = _docker("network", "ls", "-q").split()
    if not ids:
        return []
    subnets = []
    # Another run may remove a network between the listing and the inspect: inspect what is left.
    listed = _docker("network", "inspect", *ids, check=False)
    for network in json.loads(listed or "[]"):
        for config in (network.get("IPAM") or {}).get("Config") or []:
            try:
                net = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if isinstance(net, ipaddress.IPv4Network):
                subnets.append(net)
    return subnets


def free_subnet(base: str = "10.213") -> str:
    """A /24 in `base`.0.0/16 that no Docker network overlaps (random, so parallel runs rarely clash)."""
    used = used_subnets()
    candidates = list(range(256))
    random.shuffle(candidates)
    for n in candidates:
        net = ipaddress.ip_network(f"{base}.{n}.0/24")
        if not any(net.overlaps(u) for u in used):
            return str(net)
    raise RuntimeError(f"no free /24 left in {base}.0.0/16")


@pytest.fixture
def docker_cluster() -> Iterator[str]:
    """A unique cluster name `test-…`; everything labelled with it is removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    remove_cluster_objects(name)
