"""Session-wide safety net: no Docker object of a test cluster outlives the test run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _test_clusters() -> set[str]:
    names: set[str] = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        out = subprocess.run(["docker", *kind, "--filter", "label=io.boxk8s.managed=true",
                              "--format", '{{.Label "io.boxk8s.cluster"}}'],
                             capture_output=True, text=True, check=False).stdout
        names.update(n for n in out.split() if n.startswith("test-"))
    return names


def _clusters_in_use() -> set[str]:
    """Cluster names on the command line of a live process (`--cluster-name test-…`): clusters of
    another test session on this machine, which its own fixtures will remove."""
    names: set[str] = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        names.update(args[i + 1].decode(errors="replace") for i, arg in enumerate(args[:-1])
                     if arg == b"--cluster-name")
    return names


@pytest.fixture(scope="session", autouse=True)
def no_test_cluster_left() -> Iterator[None]:
    """Each e2e fixture removes its own cluster's objects; this sweeps what a crashed or
    interrupted test left, for clusters named `test-…` that appeared during this run and that no
    live process runs (another session's, running beside this one)."""
    if shutil.which("docker") is None:
        yield
        return
    before = _test_clusters()
    yield
    from tests.e2e.docker_cleanup import remove_cluster_objects

    for name in _test_clusters() - before - _clusters_in_use():
        remove_cluster_objects(name)
