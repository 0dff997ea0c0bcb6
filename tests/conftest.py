"""Session-wide safety net: no Docker object of a test cluster outlives the test run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest


def _test_clusters() -> set[str]:
    names: set[str] = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = subprocess.run(["docker", *kind, "--filter", "label=io.boxk8s.managed=true",
                              "--format", '{{.Label "io.boxk8s.cluster"}}'],
                             capture_output=True, text=True, check=False).stdout
        names.update(n for n in out.split() if n.startswith("test-"))
    return names


@pytest.fixture(scope="session", autouse=True)
def no_test_cluster_left() -> Iterator[None]:
    """Each e2e fixture removes its own cluster's objects; this sweeps what a crashed or
    interrupted test left, for clusters named `test-…` that appeared during this run."""
    if shutil.which("docker") is None:
        yield
        return
    before = _test_clusters()
    yield
    from tests.e2e.docker_cleanup import remove_cluster_objects

    for name in _test_clusters() - before:
        remove_cluster_objects(name)
