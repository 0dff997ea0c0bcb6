"""A real operator from the host: kopf (from PyPI, unchanged, default options but the peering it is
given) runs against `boxk8s up` (no Docker: one simulated node) through its kubeconfig. It handles
create, update and delete of its custom resources, writes their status, holds them with its
finalizer until its delete handler ran, posts its log as Events, and keeps its peering object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Boxk8s, running_boxk8s, wait_for

pytest.importorskip("kopf")

FIXTURES = Path(__file__).parent / "fixtures" / "kopf"
FINALIZER = "boxk8s.test/gizmo-cleanup"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxk8s]:
    yield from running_boxk8s(tmp_path_factory, extra=["--nodes", "0", "--fake-nodes", "1"],
                              cluster_name=f"boxk8s-crd-{uuid.uuid4().hex[:8]}", pod_subnet="10.220.0.0/16")


@pytest.fixture
def operator(cluster: Boxk8s, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    # As on any cluster, the peering objects in the same file as their CRDs map only once these are served.
    first = cluster.kubectl("apply", "-f", str(FIXTURES / "peering.yaml"), "-f", str(FIXTURES / "gizmos.yaml"),
                            check=False)
    assert "ensure CRDs are installed first" in first.stderr or first.returncode == 0, first.stderr
    cluster.kubectl("wait", "--for", "condition=Established", "--timeout", "20s", "crd/gizmos.boxk8s.test",
                    "crd/clusterkopfpeerings.kopf.dev", "crd/kopfpeerings.kopf.dev")
    cluster.kubectl("apply", "-f", str(FIXTURES / "peering.yaml"))
    journal, log = tmp_path / "journal", tmp_path / "kopf.log"
    journal.touch()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "GIZMO_JOURNAL": str(journal)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kopf", "run", str(FIXTURES / "operator.py"),
                                 "--all-namespaces", "--verbose"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, journal, log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(cluster: Boxk8s, *what: str) -> dict[str, Any]:
    return json.loads(cluster.kubectl("get", *what, "-o", "json").stdout)


def gizmo(name: str, size: str) -> str:
    return json.dumps({"apiVersion": "boxk8s.test/v1", "kind": "Gizmo", "metadata": {"name": name},
                       "spec": {"size": size}})


def test_a_kopf_operator_runs_against_boxk8s(cluster: Boxk8s,
                                             operator: tuple[subprocess.Popen[bytes], Path, Path]) -> None:
    proc, journal, log = operator

    def kopf_log() -> str:
        return log.read_text(errors="replace")

    def alive() -> None:
        assert proc.poll() is None, f"kopf exited ({proc.returncode}):\n{kopf_log()[-4000:]}"

    # Peering: kopf keeps itself in the cluster-wide peering object's status.
    def peered() -> bool:
        alive()
        status = get(cluster, "clusterkopfpeering", "default").get("status") or {}
        return any(isinstance(v, dict) and "lastseen" in v for v in status.values())
    wait_for(peered, timeout=60, what=f"kopf's peering entry\n{kopf_log()[-3000:]}")

    cluster.kubectl("apply", "-f", "-", input=gizmo("g1", "small"))

    def handled_create() -> dict[str, Any] | None:
        alive()
        obj = get(cluster, "gizmo", "g1")
        status = obj.get("status") or {}
        done = FINALIZER in (obj["metadata"].get("finalizers") or []) and status.get("created") == {"size": "small"}
        return obj if done and status.get("observedSize") == "small" else None
    obj = wait_for(handled_create, timeout=60, what=f"the create handler\n{kopf_log()[-3000:]}")
    assert "created g1" in journal.read_text()
    assert obj["metadata"]["annotations"]["kopf.zalando.org/last-handled-configuration"]
    columns = cluster.kubectl("get", "gizmos").stdout.splitlines()
    assert columns[0].split() == ["NAME", "SIZE", "OBSERVED"] and columns[1].split() == ["g1", "small", "small"]

    def posted() -> bool:
        events = get(cluster, "events", "--field-selector", "involvedObject.name=g1")["items"]
        return any(e.get("reason") == "Made" and e.get("message") == "gizmo g1 is made, size small"
                   and e["involvedObject"]["kind"] == "Gizmo" for e in events)
    wait_for(posted, timeout=30, what="kopf's events")

    cluster.kubectl("apply", "-f", "-", input=gizmo("g1", "large"))

    def handled_update() -> bool:
        alive()
        return (get(cluster, "gizmo", "g1").get("status") or {}).get("observedSize") == "large"
    wait_for(handled_update, timeout=60, what=f"the update handler\n{kopf_log()[-3000:]}")
    assert "resized g1 small large" in journal.read_text()

    # kubectl waits for the object to go: kopf's finalizer holds it until the delete handler ran.
    cluster.kubectl("delete", "gizmo", "g1", "--timeout", "60s")
    assert "deleted g1" in journal.read_text()
    gone = cluster.kubectl("get", "gizmo", "g1", check=False)
    assert gone.returncode == 1 and 'gizmos.boxk8s.test "g1" not found' in gone.stderr
    alive()
    problems = [line for line in kopf_log().splitlines() if "Traceback" in line or " ERROR " in line]
    assert not problems, kopf_log()[-4000:]
